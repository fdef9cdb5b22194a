// Package chart draws the charts of Wholecare's server-rendered pages as
// inline SVG written in Go: bar charts (grouped, stacked, vertical or
// horizontal), line charts with thresholds and zone bands, population
// pyramids, the stepped Kaiser Permanente levels triangle and small
// multiples. Each chart returns a <figure> holding the SVG, a caption and
// the same numbers as a data table, so a chart is never the only way to
// read its data.
//
// The pages' Content-Security-Policy forbids inline styles and script, so
// this package must never write a style attribute, a <style> element or any
// script or event handler: everything is drawn with SVG presentation
// attributes. It holds no person data beyond what the caller passes in,
// keeps no global mutable state, reads no clock and logs nothing; the same
// input gives the same bytes. Invalid input is reported as an error, never a
// panic.
package chart
