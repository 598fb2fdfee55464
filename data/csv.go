package data

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

// HeaderMode says whether the first row of a CSV file names its columns.
type HeaderMode int

const (
	// HeaderAuto takes the first row for a header when any of its fields is
	// not a number.
	HeaderAuto HeaderMode = iota
	// HeaderPresent: the first row names the columns.
	HeaderPresent
	// HeaderAbsent: every row is a sample.
	HeaderAbsent
)

// CSVOptions configures ReadCSV. The zero value reads comma-separated files
// with an optional header whose label column is named "label", taking the
// number of classes from the labels.
type CSVOptions struct {
	// Comma is the field separator; 0 means ','.
	Comma rune
	// Header says whether the first row is a header.
	Header HeaderMode
	// Label names the label column: a header name, or a 0-based column
	// index ("0" is the first column, "-1" the last). Empty means the
	// column named "label", which needs a header.
	Label string
	// Classes is the number of label values; 0 takes the largest label + 1.
	// Give it for a test split, whose labels may not cover every class, and
	// when the number of classes should not depend on the private data.
	Classes int
	// Normalization is applied to every feature column.
	Normalization Normalization
}

// ReadCSVFile reads a CSV file with ReadCSV; errors name the file.
func ReadCSVFile(path string, opts CSVOptions) (*Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	return ReadCSV(f, path, opts)
}

// ReadCSV reads a labelled table from CSV: one sample a row, every column a
// numeric feature except the label column, whose values must be class
// indices 0, 1, 2, …. Every row must have the same number of fields, every
// feature must be a finite number, and there must be at least one sample.
// Errors name the file (name), the line, the column (with its header name)
// and the value that is wrong.
func ReadCSV(r io.Reader, name string, opts CSVOptions) (*Table, error) {
	cr := csv.NewReader(r)
	if opts.Comma != 0 {
		cr.Comma = opts.Comma
	}
	cr.ReuseRecord = true
	cr.TrimLeadingSpace = true
	fail := func(format string, args ...any) error {
		return fmt.Errorf("data: %s: %s", name, fmt.Sprintf(format, args...))
	}

	first, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fail("the file is empty; a CSV data set needs one sample a row")
	}
	if err != nil {
		return nil, csvErr(name, err)
	}
	firstLine, _ := cr.FieldPos(0)
	first = slices.Clone(first)
	header := opts.Header == HeaderPresent
	if opts.Header == HeaderAuto {
		for _, f := range first {
			if _, err := strconv.ParseFloat(f, 64); err != nil {
				header = true
				break
			}
		}
	}
	var names []string
	if header {
		names = first
		seen := map[string]int{}
		for j, n := range names {
			if k, dup := seen[n]; dup && n != "" {
				return nil, fail("header: columns %d and %d are both named %q; give the columns distinct names", k, j, n)
			}
			seen[n] = j
		}
	}
	label, err := labelColumn(opts.Label, names, len(first))
	if err != nil {
		return nil, fail("%v", err)
	}
	colName := func(j int) string {
		if names != nil && names[j] != "" {
			return fmt.Sprintf("column %d (%q)", j, names[j])
		}
		return fmt.Sprintf("column %d", j)
	}
	dim := len(first) - 1
	if dim < 1 {
		return nil, fail("line %d has %d field(s): a sample needs at least one feature column besides the label", firstLine, len(first))
	}
	if err := opts.Normalization.check(dim); err != nil {
		return nil, fail("%v", err)
	}

	t := &Table{Shape: []int{dim}}
	var lines []int
	row := func(rec []string, line int) error {
		base := len(t.Features)
		for j, f := range rec {
			v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			if err != nil {
				return fail("line %d, %s: %q is not a number", line, colName(j), f)
			}
			if j == label {
				l, err := checkLabel(v)
				if err != nil {
					return fail("line %d, %s: %v", line, colName(j), err)
				}
				t.Labels = append(t.Labels, l)
				continue
			}
			if err := checkFeature(v); err != nil {
				return fail("line %d, %s: %v", line, colName(j), err)
			}
			t.Features = append(t.Features, v)
		}
		opts.Normalization.apply(t.Features[base:])
		lines = append(lines, line)
		return nil
	}
	if !header {
		if err := row(first, firstLine); err != nil {
			return nil, err
		}
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvErr(name, err)
		}
		line, _ := cr.FieldPos(0)
		if err := row(rec, line); err != nil {
			return nil, err
		}
	}
	t.N = len(t.Labels)
	if t.N == 0 {
		return nil, fail("the file has a header but no samples")
	}
	if err := t.setClasses(opts.Classes, func(i int) string {
		return fmt.Sprintf("line %d, %s", lines[i], colName(label))
	}); err != nil {
		return nil, fail("%v", err)
	}
	return t, nil
}

// labelColumn resolves CSVOptions.Label against the header names (nil
// without a header) of a file with n columns.
func labelColumn(label string, names []string, n int) (int, error) {
	if label == "" {
		if names == nil {
			return 0, errors.New("the file has no header, so there is no column named \"label\"; give the label column's index (0 for the first, -1 for the last)")
		}
		label = "label"
	}
	if i, err := strconv.Atoi(label); err == nil {
		j := i
		if j < 0 {
			j += n
		}
		if j < 0 || j >= n {
			return 0, fmt.Errorf("label column %d is outside the %d columns of the file", i, n)
		}
		return j, nil
	}
	if j := slices.Index(names, label); j >= 0 {
		return j, nil
	}
	if names == nil {
		return 0, fmt.Errorf("label column %q: the file has no header to look the name up in; give the column's index instead", label)
	}
	return 0, fmt.Errorf("no column named %q in the header (%s); name the label column, or give its index", label, strings.Join(names, ", "))
}

// csvErr words encoding/csv's errors with the file name.
func csvErr(name string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		if errors.Is(pe.Err, csv.ErrFieldCount) {
			return fmt.Errorf("data: %s: line %d has a different number of fields from the first line; every row needs the same columns", name, pe.StartLine)
		}
		return fmt.Errorf("data: %s: line %d, column %d: %v", name, pe.Line, pe.Column, pe.Err)
	}
	return fmt.Errorf("data: %s: %w", name, err)
}
