package loop

import "testing"

func TestRecordRoundKeepsTheBestAndGivesTiesToTheLaterRound(t *testing.T) {
	s := State{BestRound: 0, BestBA: 0.878}
	steps := []struct {
		ba       float64
		best     int
		noGain   int
		stopped  bool
		bestBA   float64
		describe string
	}{
		{0.878, 1, 1, false, 0.878, "a tie goes to round 1 but is no gain"},
		{0.870, 1, 2, false, 0.878, "a worse round keeps round 1"},
		{0.881, 3, 0, false, 0.881, "a gain takes round 3 and resets patience"},
		{0.879, 3, 1, false, 0.881, "worse again"},
		{0.875, 3, 2, false, 0.881, "worse a second time"},
		{0.880, 3, 3, true, 0.881, "three rounds without a gain stop the loop at patience 3"},
	}
	for i, st := range steps {
		s.recordRound(i+1, st.ba, 3)
		if s.BestRound != st.best || s.NoGain != st.noGain || (s.Stopped != "") != st.stopped || s.BestBA != st.bestBA {
			t.Fatalf("round %d (%s): best %d (%.3f), no gain %d, stopped %q; want best %d (%.3f), no gain %d, stopped %v",
				i+1, st.describe, s.BestRound, s.BestBA, s.NoGain, s.Stopped, st.best, st.bestBA, st.noGain, st.stopped)
		}
	}
}

// loop.select = "significant": a higher validation score that is within chance keeps the old model.
func TestRecordRoundIfSignificant(t *testing.T) {
	s := State{BestRound: 0, BestBA: 0.878}
	for i, st := range []struct {
		ba      float64
		allowed bool
		best    int
		noGain  int
		desc    string
	}{
		{0.884, false, 0, 1, "higher but within chance: round 0 kept, no gain"},
		{0.878, false, 0, 2, "a tie within chance does not take the round either"},
		{0.890, true, 3, 0, "beyond chance: kept"},
	} {
		s.recordRoundIf(i+1, st.ba, 0, st.allowed)
		if s.BestRound != st.best || s.NoGain != st.noGain {
			t.Fatalf("round %d (%s): best %d, no gain %d; want %d, %d", i+1, st.desc, s.BestRound, s.NoGain, st.best, st.noGain)
		}
	}
}
