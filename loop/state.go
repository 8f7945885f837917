package loop

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/gam-native/gam-native/plan"
)

// StateFile records which stages of a run are complete, so --resume skips them.
const StateFile = "state.json"

// State is the run's progress; every stage's outputs are files in the run folder, and the state
// only says which of them are complete.
type State struct {
	Version int             `json:"version"`
	Done    map[string]bool `json:"done"`
	Learner *plan.Learner   `json:"learner"`
	// RolledBack lists "round/target" pairs whose images were removed after they hurt a class.
	RolledBack []string `json:"rolled_back,omitempty"`
	Spent      int      `json:"spent"`
	BestRound  int      `json:"best_round"`
	BestBA     float64  `json:"best_balanced_accuracy"`
	NoGain     int      `json:"rounds_without_gain"`
	Stopped    string   `json:"stopped,omitempty"`
	LastRound  int      `json:"last_round"`
	// Compared holds each round's model against the model kept before it, on the validation
	// images (round number -> paired comparison).
	Compared map[int]plan.Paired `json:"compared,omitempty"`
}

func loadState(dir string) (*State, error) {
	b, err := os.ReadFile(filepath.Join(dir, StateFile))
	if err != nil {
		return nil, err
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, StateFile), err)
	}
	if s.Done == nil {
		s.Done = map[string]bool{}
	}
	return &s, nil
}

// recordRound keeps round n as the best model when its validation balanced accuracy ba is the
// highest so far; a tie goes to the later round (the same score from a model that saw more
// data). Only a strict gain resets the count of rounds without one, and patience > 0 such rounds
// in a row stop the loop.
func (s *State) recordRound(n int, ba float64, patience int) { s.recordRoundIf(n, ba, patience, true) }

// recordRoundIf is recordRound where a round can be kept only when allowed (loop.select =
// "significant": only when it beats the kept model beyond chance).
func (s *State) recordRoundIf(n int, ba float64, patience int, allowed bool) {
	const tie = 1e-9
	gain := ba > s.BestBA+tie && allowed
	if gain || allowed && ba >= s.BestBA-tie {
		s.BestRound, s.BestBA = n, math.Max(ba, s.BestBA)
	}
	if gain {
		s.NoGain = 0
		return
	}
	s.NoGain++
	if patience > 0 && s.NoGain >= patience {
		s.Stopped = fmt.Sprintf("%d rounds without a gain", s.NoGain)
	}
}
