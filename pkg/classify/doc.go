// Package classify owns the text classifier of the cascade, the small model
// that labels every record and says when it does not know.
//
// A text is normalised and cut into words (tokenize.go); its words, word
// bigrams, leading words and character n-grams are hashed into a fixed
// number of buckets (features.go). Each bucket has an embedding row; the
// rows of a text are averaged, with idf weights, words and character
// n-grams each given a share, and a softmax layer turns the average into
// class probabilities (model.go). Train fits an ensemble of such models by
// SGD with a decaying learning rate, one member per goroutine, the same
// model for the same seed (train.go); since the logits are linear in the
// rows, the members and their output layers are then folded into one table
// of logits per bucket, so that a prediction sums one row per feature.
// Calibrate fits a temperature and the confidence threshold for a target
// accuracy on held-out examples (calibrate.go); Evaluate measures a model
// (evaluate.go); Autotune searches a small grid (autotune.go). A model is
// stored in a versioned, checksummed file that loads in one read, with
// optional 8-bit tables (file.go, table.go). Holder swaps a new model in
// without a restart, and Tagger classifies the text of enriched records
// with it (holder.go, tagger.go). On amd64 the dense loops run in AVX2
// kernels (vec_amd64.s), elsewhere in plain Go (vec.go).
//
// The package reads no Kafka and knows no wire format, and it does not read
// files other than the model file: commands and the worker hand it examples
// and records.
package classify
