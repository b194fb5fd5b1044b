"""The models: configs, nets, the divergences of the deck, VAE / WAE-MMD / WAE-GAN / GAN, their
latent operations and checkpoints."""
