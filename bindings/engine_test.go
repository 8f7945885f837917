package bindings

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// TestCallsRaceClose: calls made while another goroutine closes the engine either run or get
// "engine is closed"; none panics on the closed queue. The engine here is only its Go side (the
// queue and a thread draining it), so no library is needed. Before do queued under the lock, the
// window between its open check and its send let Close close the queue in between.
func TestCallsRaceClose(t *testing.T) {
	for i := 0; i < 2000; i++ {
		e := &Engine{calls: make(chan func(), postDepth), open: true}
		drained := make(chan struct{})
		go func() {
			for f := range e.calls {
				f()
			}
			close(drained)
		}()
		var wg sync.WaitGroup
		var calls atomic.Int64
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					if err := e.do(func() {}); err != nil {
						if err.Error() != "engine is closed" {
							t.Errorf("do: %v", err)
						}
						return
					}
					calls.Add(1)
					e.post(func() {})
				}
			}()
		}
		for calls.Load() < 20 { // close while the callers are at it
			runtime.Gosched()
		}
		_ = e.Close()
		wg.Wait()
		<-drained
		if err := e.do(func() {}); err == nil {
			t.Fatal("do on a closed engine gave no error")
		}
	}
}
