// Package audit measures empirical lower bounds on the ε of dpmpi's DP-SGD
// and compares them with the ε the accountants claim: a correct
// implementation stays below its claim, a broken one (noise missing or too
// small, clipping skipped, steps not accounted) goes above it.
//
// Run trains a tiny model through the real code path — data.Sampler's
// Poisson batches, per-sample clipping (flat or per layer), the distributed
// optimizers (optimizer.DistributedDPOptimizer, simple's and perlayer's
// per-layer optimizers) with their noise on rank 0, scaling and reduction
// over any number of MPI ranks, virtual steps or accumulated passes, and
// the step hook feeding an accountant — and returns a Result holding the
// claimed ε (RDP and PRV at δ), the empirical bound at δ, the audit of the
// whole privacy profile and a one-run bound:
//
//	r, err := audit.Run(audit.Experiment{Optimizer: audit.Simple, NoiseMultiplier: 1, SampleRate: 0.5, Steps: 8}, comm)
//	if r.Analysed && r.Flagged { ... the implementation leaks more than it claims ... }
//
// The statistics are usable on their own: ClopperPearson, EpsilonFromRates
// and EpsilonLowerBound turn a membership test's error counts into an ε
// lower bound; LowerBound chooses the test's threshold on held-out trials;
// OneRunPValue, OneRunEpsilon and OneRun implement the one-run audit.
//
// # White-box auditing with many trials
//
// The adversary of Nasr, Song, Thakurta, Papernot & Carlini (2021,
// "Adversary instantiation: lower bounds for differentially private
// machine learning") and Nasr, Hayes, Steinke, Balle, Tramèr, Jagielski,
// Carlini & Terzis (2023, "Tight auditing of differentially private machine
// learning") sees every noisy update and inserts a "Dirac" canary: a sample
// whose gradient points along one coordinate, with norm at least the
// clipping threshold C. Each trial trains with the canary (in) or without
// it (out); the adversary scores the trial, guesses "in" above a threshold,
// and its false-positive and false-negative rates FPR and FNR bound ε from
// below: an (ε, δ)-DP mechanism has FPR + e^ε·FNR ≥ 1 − δ and
// FNR + e^ε·FPR ≥ 1 − δ for every test, so
//
//	ε ≥ max(log((1−δ−FNR)/FPR), log((1−δ−FPR)/FNR)),
//
// with the rates replaced by their Clopper–Pearson upper ends, which makes
// the bound hold with the stated confidence (Jagielski, Ullman & Oprea
// 2020, "Auditing differentially private machine learning: how private is
// private SGD?").
//
// Here every canary owns its own coordinate in each of the model's layers,
// so one training run of an m-parameter-per-layer model holds m
// independent trials: the noise is independent per coordinate and
// clipping is per sample, so (for a correct implementation, which is what
// the audit is to confirm) a canary's coordinates see only its own
// contribution and their own noise. Experiment.Runs repeats the training
// with fresh seeds. The score of a canary is the log-likelihood ratio,
// summed over the steps, of its update projected on the clipped canary
// direction, in units of the noise std: out, N(0, 1) at every step; in,
// the mixture (1−q)·N(0, 1) + q·N(μ, 1) with μ = ‖clipped canary‖/(σ·‖C‖₂).
// This is the Neyman–Pearson test for the adversary's question, so the
// bounds approach the true ε as trials grow.
//
// The adversary knows the claimed mechanism (σ, C, q, B, W, k), which is
// public; the scores use it, not the code under test. The threshold is
// chosen on half of the trials and the bound computed on the other half.
//
// # Auditing the privacy profile
//
// At small δ (1e-5) the bound from 10⁵ trials is limited to about half of
// a large claimed ε, however broken the code: the rates cannot be measured
// below about 3/n. But the accountants claim (ε(δ'), δ')-DP at every δ',
// and at δ' between 0.01 and 0.3 the same trials bound ε to within 5–20% of
// the truth. Run therefore audits the profile at Experiment.ProfileDeltas
// with a Bonferroni correction (each point at confidence
// 1 − (1−Confidence)/K) and flags the implementation when any point's bound
// exceeds the smaller of the RDP and PRV claims. A correct implementation
// is flagged with probability at most 1 − Confidence.
//
// # One training run
//
// Steinke, Nasr & Jagielski (2023, "Privacy auditing with one (1) training
// run") include each of m canaries independently with probability ½ in a
// single training run and let the auditor guess the membership of the K
// most and the K least confident; v correct out of r = 2K guesses bound ε
// through their main theorem: for an (ε, δ)-DP algorithm,
//
//	P[≥ v correct] ≤ P[Bin(r, e^ε/(1+e^ε)) ≥ v] + 2mδ·max_{1≤i≤v} (1/i)·P[v−i ≤ Bin(r, e^ε/(1+e^ε)) < v],
//
// and ε is bounded below by the largest value whose tail is still below
// 1 − confidence. The theorem needs no independence between canaries. Run
// applies it to the first run's canaries; OneRun applies it to any scores.
//
// # Mutants
//
// Package internal/mutant holds the build-tag switches of seven deliberate
// bugs in the optimizer and perlayer packages; scripts/audit.sh builds the
// tests with each tag (-tags dpmpi_mutant_NAME) and checks that TestMutant
// catches it, and that TestAudit, in a normal build, flags no correct
// optimizer at W = 1..4.
package audit
