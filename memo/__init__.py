"""memo: one assumptions file in, a published investment memo out, every figure traceable."""

__version__ = "0.1.0"
