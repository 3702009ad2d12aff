package model

// Point is one value of a time series: T in unix seconds.
type Point struct {
	T int64
	V float64
}
