// Package optimizer is the differentially private core shared by every dpmpi
// optimizer: the parameter arena, the per-sample gradient source that links
// models to clipping, clipping, Gaussian noise, loss-reduction scaling, the
// wrapped update rules (SGD, Adam, AdamW), and the flat DPOptimizer and
// DistributedDPOptimizer.
//
// For one logical step with k accumulated backward passes, W ranks, per-rank
// expected batch size B_w, thresholds C_l and noise multiplier σ, every
// optimizer computes
//
//	G = (Σ_r Σ_i Σ_l c_{i,l} g_{i,l} + Z) / (B_w·k·W)   (mean reduction)
//	c_{i,l} = min(1, C_l / (‖g_{i,l}‖₂ + 1e-6)),  Z ~ N(0, σ²‖C‖₂² I) drawn on rank 0
//
// Flat clipping is the case of a single group holding every layer.
package optimizer
