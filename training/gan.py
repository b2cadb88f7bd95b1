"""The GAN: both networks, their optimizers and the one training step, under a strategy."""

from __future__ import annotations

import json
import logging
import os

import keras
import tensorflow as tf

from training.config import TrainConfig
from training.models import generator_for, make_pair

log = logging.getLogger("training")


def pick_strategy() -> tf.distribute.Strategy:
    """Several machines when TF_CONFIG is set, several GPUs when visible, else the default."""
    if os.environ.get("TF_CONFIG"):
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    elif len(tf.config.list_logical_devices("GPU")) > 1:
        strategy = tf.distribute.MirroredStrategy()
    else:
        strategy = tf.distribute.get_strategy()
    log.info(
        "strategy %s with %d replica(s)", type(strategy).__name__, strategy.num_replicas_in_sync
    )
    return strategy


def is_chief() -> bool:
    """Only the chief writes samples, events and exports in a multi-worker run."""
    tf_config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    task = tf_config.get("task")
    if not task:
        return True
    if "chief" in tf_config.get("cluster", {}):
        return task.get("type") == "chief"
    return task.get("type") == "worker" and task.get("index", 0) == 0


def _bce(targets: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """Per-example binary cross-entropy from logits, as the tutorial's BinaryCrossentropy."""
    logits = tf.cast(logits, tf.float32)
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(targets, logits), axis=-1)


def _digit_ce(labels: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """Per-example cross-entropy of the digit head (the conditional model's auxiliary loss)."""
    return tf.nn.sparse_softmax_cross_entropy_with_logits(labels, tf.cast(logits, tf.float32))


class FusedAdam(keras.optimizers.Adam):
    """Keras's Adam, each variable's update one ResourceApplyAdam kernel (the same formula, with
    the same slots, so checkpoints are interchangeable) instead of about a dozen ops, each a pass
    over the variable."""

    def update_step(self, gradient, variable, learning_rate):
        index = self._get_variable_index(variable)
        dtype = variable.dtype
        step = tf.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle,
            m=self._momentums[index].value.handle,
            v=self._velocities[index].value.handle,
            beta1_power=tf.pow(beta_1, step),
            beta2_power=tf.pow(beta_2, step),
            lr=tf.cast(learning_rate, dtype),
            beta1=beta_1,
            beta2=beta_2,
            epsilon=tf.cast(self.epsilon, dtype),
            grad=tf.cast(gradient, dtype),
        )


class GAN:
    """G and D with one Adam each; `train_step` runs one distributed step on a batch."""

    def __init__(self, config: TrainConfig, strategy: tf.distribute.Strategy):
        self.config = config
        self.strategy = strategy
        dtype = "mixed_bfloat16" if config.mixed_precision == "bfloat16" else "float32"
        with strategy.scope():
            self.generator, self.discriminator = make_pair(
                config.conditional, config.noise_dim, dtype
            )
            self.g_opt = FusedAdam(config.learning_rate, beta_1=config.beta_1)
            self.d_opt = FusedAdam(config.learning_rate, beta_1=config.beta_1)
            # Built now, not on the first step, so a checkpoint can restore their slots.
            self.g_opt.build(self.generator.trainable_variables)
            self.d_opt.build(self.discriminator.trainable_variables)
            self.top_k = tf.Variable(1.0, trainable=False, name="top_k")  # share of fakes kept
            # float32 whatever the compute policy: the EMA is what gets sampled and exported.
            self.ema_generator = None
            if config.ema_decay:
                self.ema_generator = generator_for(config.conditional, config.noise_dim)
                self.ema_generator.set_weights(self.generator.get_weights())
        self._step = tf.function(self._distributed_step, reduce_retracing=True)

    def set_learning_rate(self, rate: float) -> None:
        """Both optimizers' rate from now on (their rate is a variable the step reads)."""
        self.g_opt.learning_rate.assign(rate)
        self.d_opt.learning_rate.assign(rate)

    def set_top_k(self, share: float) -> None:
        """The share of each batch's fakes the generator learns from, from now on."""
        self.top_k.assign(share)

    @property
    def sampler(self) -> keras.Model:
        """The generator that samples, evaluation and export use: the EMA one when it is on."""
        return self.generator if self.ema_generator is None else self.ema_generator

    def generate(self, noise, labels=None) -> tf.Tensor:
        """Images from the sampler, in inference mode."""
        return self.sampler(self._inputs(noise, labels), training=False)

    def _inputs(self, noise, labels):
        return [noise, labels] if self.config.conditional else noise

    def train_step(self, images, labels) -> tuple[float, float]:
        """One step on a (distributed) batch; returns the mean G and D losses."""
        g_loss, d_loss = self._step(images, labels, self._r1_gamma_now())
        return float(g_loss), float(d_loss)

    def _r1_gamma_now(self) -> float:
        """Lazy R1 (StyleGAN2's): the penalty on every Nth step only, N times as strong, so it
        costs 1/N as much for about the same pull; 0 on the other steps (a second trace)."""
        cfg = self.config
        if not cfg.r1_gamma or int(self.g_opt.iterations) % cfg.r1_every:
            return 0.0
        return cfg.r1_gamma * cfg.r1_every

    def _distributed_step(self, images, labels, r1_gamma):
        g_loss, d_loss = self.strategy.run(
            self._replica_step, args=(images, labels), kwargs={"r1_gamma": r1_gamma}
        )
        reduce = tf.distribute.ReduceOp.SUM
        if self.ema_generator is not None:
            self._update_ema()
        return (
            self.strategy.reduce(reduce, g_loss, axis=None),
            self.strategy.reduce(reduce, d_loss, axis=None),
        )

    def _replica_step(self, images, labels, r1_gamma=0.0):
        cfg = self.config
        batch = tf.shape(images)[0]
        # Stateless noise keyed by (seed, step, replica): a resumed run draws what it would have.
        ctx = tf.distribute.get_replica_context()
        step = tf.cast(self.g_opt.iterations, tf.int32) * ctx.num_replicas_in_sync
        key = tf.stack([tf.constant(cfg.seed, tf.int32), step + ctx.replica_id_in_sync_group])
        noise = tf.random.stateless_normal([batch, cfg.noise_dim], seed=key)
        real_in = [images, labels] if cfg.conditional else images
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = self.generator(self._inputs(noise, labels), training=True)
            fake_in = [fake, labels] if cfg.conditional else fake
            real_logits, r1 = self._real_logits(images, real_in, r1_gamma)
            fake_logits = self.discriminator(fake_in, training=True)
            if cfg.conditional:  # D also names the digit: learnt on real images, G is scored on it
                (real_logits, real_digits), (fake_logits, fake_digits) = real_logits, fake_logits
            g_per_example = _bce(tf.ones_like(fake_logits), fake_logits)
            real_targets = tf.ones_like(real_logits) * (1.0 - cfg.label_smoothing)
            d_per_example = (
                _bce(real_targets, real_logits) + _bce(tf.zeros_like(fake_logits), fake_logits) + r1
            )
            if cfg.conditional:
                d_per_example += _digit_ce(labels, real_digits)
                g_per_example += _digit_ce(labels, fake_digits)
            # Averaged over the global batch, so replicas' gradients sum to the mean's.
            if cfg.top_k < 1:
                g_loss = self._top_k_loss(g_per_example, ctx.num_replicas_in_sync)
            else:
                g_loss = tf.nn.compute_average_loss(g_per_example)
            d_loss = tf.nn.compute_average_loss(d_per_example)
        g_vars = self.generator.trainable_variables
        d_vars = self.discriminator.trainable_variables
        self.g_opt.apply_gradients(zip(g_tape.gradient(g_loss, g_vars), g_vars))
        self.d_opt.apply_gradients(zip(d_tape.gradient(d_loss, d_vars), d_vars))
        return g_loss, d_loss

    def _real_logits(self, images, real_in, r1_gamma: float):
        """D's output on the real batch, and the per-example R1 penalty (0 when off): gamma/2
        |grad_x D(x)|^2 keeps D flat on the data, so G is not pushed past it (Mescheder et al.,
        "Which Training Methods for GANs do actually Converge?", 2018). Called under D's tape,
        which then differentiates the gradient too."""
        if not r1_gamma:
            return self.discriminator(real_in, training=True), 0.0
        with tf.GradientTape() as tape:
            tape.watch(images)
            real_logits = self.discriminator(real_in, training=True)
            score = real_logits[0] if self.config.conditional else real_logits
            total = tf.reduce_sum(tf.cast(score, tf.float32))
        grads = tape.gradient(total, images)
        r1 = 0.5 * r1_gamma * tf.reduce_sum(tf.square(grads), axis=[1, 2, 3])
        return real_logits, r1

    def _top_k_loss(self, g_per_example: tf.Tensor, replicas: int) -> tf.Tensor:
        """G's loss over only the fakes D rates most real (lowest loss): the worst ones, often
        between two digits, would pull G towards D's blind spots instead of towards digits."""
        batch = tf.cast(tf.shape(g_per_example)[0], tf.float32)
        k = tf.maximum(1, tf.cast(tf.math.ceil(self.top_k * batch), tf.int32))
        kept = -tf.math.top_k(-g_per_example, k).values
        return tf.nn.compute_average_loss(kept, global_batch_size=k * replicas)

    def _update_ema(self) -> None:
        """ema <- d * ema + (1 - d) * weights, BatchNorm statistics included, after each step.

        In cross-replica context, so every replica's copy gets the same update. The decay ramps
        up as (1 + t) / (10 + t), as tf.train.ExponentialMovingAverage's num_updates does, so
        the random initial weights fade within the first hundreds of steps.
        """
        assert self.ema_generator is not None  # called only with EMA on
        step = tf.cast(self.g_opt.iterations, tf.float32)
        decay = tf.minimum(self.config.ema_decay, (1.0 + step) / (10.0 + step))
        for ema, weight in zip(self.ema_generator.weights, self.generator.weights):
            ema.assign(decay * ema.value + (1.0 - decay) * tf.cast(weight.value, ema.dtype))
