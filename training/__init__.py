"""Offline training of the TensorFlow DCGAN tutorial's GAN on MNIST, and its export."""
