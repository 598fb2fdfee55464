// Command dpaccount answers differential-privacy accounting questions
// without training: ε of a training history, the noise multiplier σ for a
// target ε, ε curves (CSV, JSON or a plot), and ε of a ledger written by
// dptrain, with the RDP, PRV and GDP accountants of package accountant
// (Opacus-compatible numbers):
//
//	dpaccount epsilon --accountant rdp|prv|gdp --sample-rate Q --noise-multiplier S --steps N --delta D [--json]
//	dpaccount epsilon --history "1.0:0.01:500,2.0:0.02:300" --delta D [--json]
//	dpaccount sigma   --target-epsilon E --delta D --sample-rate Q --steps N|--epochs X [--accountant rdp|prv] [--json]
//	dpaccount curve   (history flags) --delta D [--every M] [--accountant …] [--compare] [--sigmas 0.8,1.1,2] [--csv FILE] [--json] [--plot FILE.png|.svg]
//	dpaccount ledger  FILE --delta D [--accountant …] [--repair] [--json]
//
// A history is a list of σ:q:steps segments. The ledger subcommand reads an
// accountant.Ledger file, such as the one dptrain writes to
// <checkpoint-dir>/ledger.txt; every record counts as one step, including a
// step that a resumed run recorded twice, so it reports the ε of dptrain's
// own summary. --repair removes a damaged last record after you have
// checked it. Run dpaccount SUBCOMMAND -h for a subcommand's flags.
//
// Errors go to standard error with exit status 2 for bad arguments and 1
// for failures.
package main
