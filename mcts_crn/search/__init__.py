"""Structure search over reaction networks (Monte Carlo tree search) and its command line."""
