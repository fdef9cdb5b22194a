// Package riskmodel predicts, for each person, the risk of at least one
// emergency admission in the 12 months after a cut-off day, from what the
// record held before that day. It builds the features, trains the two
// models (an L2-regularised logistic regression fitted by Newton's method,
// and a histogram gradient-boosted tree classifier), measures them
// (AUROC, average precision, calibration, Brier score), saves the chosen
// one as versioned JSON and explains each person's score in plain words.
//
// Training follows the time line, never a random split: features at a
// cut-off T0 with labels from the year after T0 train the models; features
// at T1 = T0 + 1 year with labels from the year after T1 validate them, so
// the figures say how a model trained on last year's history does on this
// year's. Only rows dated strictly before a cut-off become features (a test
// adds future rows and checks nothing moves).
//
// Explanations: for the logistic regression a factor's contribution is its
// coefficient × the person's standardised value (the change in log-odds
// against a person at the training mean); for the tree model it is the
// Saabas attribution — along each tree's path, the change in the node value
// at each split is credited to the split's feature, summed over the trees.
// Saabas values are honest about what the trees did for this person but,
// unlike SHAP values, depend on the order of splits; they are a guide, not
// a causal account.
//
// Everything here is a pure function of its inputs: no clock, no store, no
// logging, no mutable package state. The package must never import
// database, HTTP or UI packages (internal/archtest enforces it).
package riskmodel
