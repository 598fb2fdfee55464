package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/dpmpi/dpmpi/accountant"
)

// fresh prepares a new run's ledger on rank 0; it refuses to reuse a
// directory that holds a previous run's checkpoint or ledger.
func (t *trainer[F]) fresh() error {
	ck := filepath.Join(t.c.CheckpointDir, ckptName)
	if _, err := os.Stat(ck); err == nil {
		return fmt.Errorf("a checkpoint already exists at %s: continue that run with --resume, or choose another --out/--checkpoint-dir", ck)
	}
	l, err := createLedger(t.c.Ledger)
	if err != nil {
		return err
	}
	t.priv.ledger = l
	return nil
}

// resumeMsg is what rank 0 broadcasts on --resume: the checkpoint and the
// ledger's records. Its encoding is two sections (see state.go): the
// checkpoint's dptrain/3 payload, then the records as a JSON array.
type resumeMsg struct {
	state  *ckptState
	ledger []accountant.LedgerRecord
}

func (m *resumeMsg) encode() ([]byte, error) {
	s, err := m.state.encode()
	if err != nil {
		return nil, err
	}
	l, err := json.Marshal(m.ledger)
	if err != nil {
		return nil, fmt.Errorf("encoding the ledger records: %w", err)
	}
	return appendSection(appendSection(make([]byte, 0, len(s)+len(l)+16), s), l), nil
}

func decodeResumeMsg(b []byte) (*resumeMsg, error) {
	r := sections{b: b}
	sb, lb := r.next("checkpoint"), r.next("ledger")
	if err := r.end(); err != nil {
		return nil, fmt.Errorf("--resume: the broadcast checkpoint: %w", err)
	}
	s, err := decodeState(ckptKind, sb)
	if err != nil {
		return nil, fmt.Errorf("--resume: the broadcast checkpoint: %w", err)
	}
	m := &resumeMsg{state: s}
	if err := json.Unmarshal(lb, &m.ledger); err != nil {
		return nil, fmt.Errorf("--resume: the broadcast ledger records: %w", err)
	}
	return m, nil
}

// readResume reads the checkpoint and opens the ledger (rank 0).
func (t *trainer[F]) readResume() ([]byte, error) {
	s := t.read
	if s == nil {
		var err error
		if s, err = loadCheckpoint(t.c.CheckpointDir); err != nil {
			return nil, err
		}
	}
	l, recs, _, err := openLedger(t.c.Ledger)
	if err != nil {
		return nil, err
	}
	t.priv.ledger = l
	return (&resumeMsg{state: s, ledger: recs}).encode()
}

// resume restores the checkpoint and reconciles it with the ledger. Rank 0
// reads both files and broadcasts them; every rank restores its own part.
func (t *trainer[F]) resume() error {
	var blob []byte
	var lerr error
	if t.rank == 0 {
		blob, lerr = t.readResume()
	}
	if err, _, cerr := agree(t.comm, lerr); cerr != nil || err != nil {
		if cerr != nil {
			return cerr
		}
		return err
	}
	blob, err := bcastBlob(t.comm, blob, 0)
	if err != nil {
		return err
	}
	m, err := decodeResumeMsg(blob)
	if err != nil {
		return err
	}
	s := m.state
	if s.ID.Precision != t.id.Precision {
		return fmt.Errorf("--resume: the checkpoint holds %s parameters and optimizer state (--precision %s), this run asks for --precision %s: resume with --precision %s (or start a new run in another --out)",
			s.ID.Precision, s.ID.Precision, t.id.Precision, s.ID.Precision)
	}
	if err := s.ID.mismatch(t.id); err != nil {
		return err
	}
	if len(s.Params) != len(t.net.arena.Params) || len(s.Ranks) != t.world {
		return fmt.Errorf("--resume: checkpoint has %d parameters and %d ranks, this run %d and %d", len(s.Params), len(s.Ranks), len(t.net.arena.Params), t.world)
	}
	if err := t.reconcile(s, m.ledger); err != nil {
		return err
	}
	return t.restore(s)
}

// reconcile checks the ledger's records against the checkpoint (every step
// 1..s.Step recorded, with this run's σ and q) and feeds them all to the
// accountant; records beyond the checkpoint become pending (their steps may
// be replayed).
func (t *trainer[F]) reconcile(s *ckptState, entries []accountant.LedgerRecord) error {
	p := &t.priv
	seen := map[int]bool{}
	p.pending = map[int]string{}
	centred := false
	for i, e := range entries {
		if e.Step == 0 && e.Tag == centerTag {
			if p.prior == nil || i != 0 || e.NoiseMultiplier != p.prior[0].NoiseMultiplier || e.SampleRate != p.prior[0].SampleRate {
				return fmt.Errorf("--resume: ledger %s record %d is a features' mean (σ=%v q=%v), but this run's mean is %s; refusing to guess the privacy spent", t.c.Ledger, i+1, e.NoiseMultiplier, e.SampleRate, centerText(p.prior))
			}
			centred = true
			continue
		}
		if e.Step <= 0 {
			return fmt.Errorf("--resume: ledger %s record %d has no step number, so it was not written by dptrain; refusing to guess the privacy spent", t.c.Ledger, i+1)
		}
		if e.NoiseMultiplier != p.sigma || e.SampleRate != p.q {
			return fmt.Errorf("--resume: ledger %s entry for step %d has σ=%v q=%v, this run σ=%v q=%v", t.c.Ledger, e.Step, e.NoiseMultiplier, e.SampleRate, p.sigma, p.q)
		}
		if e.Step <= s.Step {
			seen[e.Step] = true
		} else {
			p.pending[e.Step] = e.Tag
		}
	}
	if p.prior != nil && !centred {
		return fmt.Errorf("--resume: the run centres its features (--center-norm) but ledger %s does not record the mean; the privacy spent would be under-counted, refusing to continue", t.c.Ledger)
	}
	if len(seen) < s.Step {
		return fmt.Errorf("--resume: ledger %s records %d of the %d steps the checkpoint has taken; the privacy spent would be under-counted, refusing to continue", t.c.Ledger, len(seen), s.Step)
	}
	var ckAcct accountant.Accountant
	if err := ckAcct.UnmarshalJSON(s.Accountant); err != nil {
		return fmt.Errorf("--resume: checkpoint accountant state: %w", err)
	}
	if ckAcct.History().Steps() > len(entries) {
		return fmt.Errorf("--resume: checkpoint accountant holds %d steps but the ledger only %d; refusing to under-count", ckAcct.History().Steps(), len(entries))
	}
	// The accountant continues from the ledger: every entry counts.
	for _, e := range entries {
		if err := p.acct.Step(e.NoiseMultiplier, e.SampleRate); err != nil {
			return err
		}
	}
	return nil
}

// restore loads the parameters, the optimizer state and this rank's
// streams from s. The loss tally starts afresh: the first record after a
// resume covers the steps since the resume only.
func (t *trainer[F]) restore(s *ckptState) error {
	for i, v := range s.Params {
		t.net.arena.Params[i] = F(v) // exact: the checkpoint was written in F (runIdentity.Precision)
	}
	if a := t.net.avg; a != nil {
		if len(s.Average) != len(a.avg) {
			return fmt.Errorf("--resume: the checkpoint holds %d averaged parameters for --ema, this model %d (was it written without --ema?)", len(s.Average), len(a.avg))
		}
		copy(a.avg, s.Average)
	}
	if err := t.net.opt.Updater().UnmarshalBinary(s.Optim); err != nil {
		return fmt.Errorf("--resume: optimizer state: %w", err)
	}
	if t.priv.prior != nil {
		if s.Center == nil {
			return fmt.Errorf("--resume: the run centres its features (--center-norm) but the checkpoint holds no mean; refusing to estimate it again")
		}
		t.data.mean = s.Center
	}
	if t.c.adaptive() {
		if err := t.net.opt.SetThresholds(s.Thresholds); err != nil {
			return fmt.Errorf("--resume: the checkpoint's adaptive thresholds: %w", err)
		}
	}
	rs := s.Ranks[t.rank]
	if err := t.rng.sampler.UnmarshalBinary(rs.Sampler); err != nil {
		return fmt.Errorf("--resume: sampler state of rank %d: %w", t.rank, err)
	}
	if t.rng.noise != nil {
		if err := t.rng.noise.UnmarshalBinary(rs.Noise); err != nil {
			return fmt.Errorf("--resume: noise generator state of rank %d: %w", t.rank, err)
		}
	}
	t.step = s.Step
	return nil
}

// marshal returns the streams' states.
func (s *streams) marshal() (rankState, error) {
	sb, err := s.sampler.MarshalBinary()
	if err != nil {
		return rankState{}, err
	}
	var nb []byte
	if s.noise != nil {
		if nb, err = s.noise.MarshalBinary(); err != nil {
			return rankState{}, err
		}
	}
	return rankState{Sampler: sb, Noise: nb}, nil
}

// average returns a copy of the --ema average, nil without --ema.
func (t *trainer[F]) average() []float64 {
	if t.net.avg == nil {
		return nil
	}
	return append([]float64(nil), t.net.avg.avg...)
}

// saveCheckpoint gathers every rank's sampler and noise state on rank 0,
// which writes one checkpoint file atomically. Collective.
func (t *trainer[F]) saveCheckpoint() error {
	rs, err := t.rng.marshal()
	if err != nil {
		return err
	}
	mine, _ := json.Marshal(rs)
	all, err := gatherBlobs(t.comm, mine)
	if err != nil {
		return err
	}
	if t.rank != 0 {
		return nil
	}
	ranks := make([]rankState, t.world)
	for r, b := range all {
		if err := json.Unmarshal(b, &ranks[r]); err != nil {
			return err
		}
	}
	ob, err := t.net.opt.Updater().MarshalBinary()
	if err != nil {
		return err
	}
	ab, err := t.priv.acct.MarshalJSON()
	if err != nil {
		return err
	}
	return writeCheckpoint(t.c.CheckpointDir, &ckptState{ID: t.id, Step: t.step, Params: slices.Clone(toFloat64(t.net.arena.Params)),
		Average: t.average(), Thresholds: t.adaptiveThresholds(), Center: t.data.mean,
		Optim: ob, Accountant: ab, Ranks: ranks})
}
