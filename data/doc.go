// Package data reads and writes the datasets gam-native works on, and cuts
// them into the scenarios that give a classifier weak spots to find.
//
// Images live in memory as Dataset: float32 NCHW in [0,1], the layout the
// engine takes, with int64 labels, optional per-image condition severities
// (Attrs, in AttrNames order) and optional origins (Refs). The package is
// pure Go and never imports the engine bindings; the one engine operation
// it needs, applying an image condition, is passed in as a ConditionFunc.
//
// Readers: IDX files, gzipped or not (ReadIDX, LoadFashionMNIST,
// LoadMNIST); ImageFolder trees (ReadImageFolder); manifests
// (ReadManifest, ReadManifestRecords). Writers: WriteImageFolder (PNGs and
// a manifest, every file replaced atomically) and ManifestWriter (durable
// appends that survive a kill at any moment). Every error about input
// names the file, and for manifests the line.
//
// # Manifest schema, version 1
//
// A manifest is JSON Lines: one record per line, UTF-8, blank lines
// ignored. MANIFEST.md in this folder is the full description; in short:
//
//	{"v": 1,                                    schema version; absent means 1, above 1 is refused
//	 "path": "images/shirt/g_r1_000001.png",    image file, relative to the manifest's folder, "/"-separated
//	 "ref": "idx:/usr/share/.../train-images-idx3-ubyte.gz#123",  origin: idx:FILE#INDEX or an image file
//	 "label": 6, "class": "shirt",              either or both (then they must agree)
//	 "attrs": {"blur": 0.6},                    severities in [0,1] of blur, shadow, low_contrast, noise
//	 "source": "generated",                     "generated" or "real"
//	 "provenance": {"round": 1, "target": "shirt/blurry", "seed": 123,
//	                "generator": "zoo:cvae", "confidence": 0.81, "screen_prob": 0.97,
//	                "conditions": {"blur": "generator"}, "review": "accepted"},
//	 "meta": {...}}                             free-form JSON, kept as is
//
// Pixels come from "path" when present, else from "ref". Unknown fields
// are refused so that a misspelt "lable" is an error, not a lost label;
// but field names match case-insensitively, as encoding/json does.
package data
