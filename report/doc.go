// Package report writes the figures and tables of a run report for the
// data-augmentation loop: per-class recall and summary metrics over rounds,
// before/after and method-comparison bar charts, image grids, and Markdown or
// terminal tables.
//
// Every PNG goes to a temporary file in the destination folder, is fsynced
// and then renamed over the destination, so a run killed at any moment
// leaves either the old file or the new one. Inputs are checked before
// anything is drawn; a bad argument returns an error naming it and writes
// nothing. Everything here is pure Go, so it runs without the engine.
package report
