package commands

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"text/template"
	"unicode"
)

// templateFuncs are the functions Docker's --format templates have (docker/cli's
// templates.basicFunctions), so that a format written for docker works here.
var templateFuncs = template.FuncMap{
	"json": func(v any) (string, error) {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return "", err
		}
		return strings.TrimSpace(buf.String()), nil
	},
	"split": strings.Split,
	"join":  strings.Join,
	"title": title,
	"lower": strings.ToLower,
	"upper": strings.ToUpper,
	"pad": func(s string, before, after int) string {
		return strings.Repeat(" ", before) + s + strings.Repeat(" ", after)
	},
	"truncate": truncate,
	"println":  fmt.Sprintln,
}

func title(s string) string {
	prev := ' '
	return strings.Map(func(r rune) rune {
		defer func() { prev = r }()
		if unicode.IsSpace(prev) {
			return unicode.ToTitle(r)
		}
		return r
	}, s)
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}

// rowFormat is a --format for a listing: a Go template over each row, or with the "table"
// prefix, the same over a header row first, in columns (Docker's `table {{.ID}}\t{{.Names}}`).
type rowFormat struct {
	tmpl    *template.Template
	table   bool
	headers map[string]string // what .Field prints in the header row
}

// parseRowFormat parses format for rows whose fields have the given headers; "" is
// defaultTable, the listing's usual table.
func parseRowFormat(format, defaultTable string, headers map[string]string) (*rowFormat, error) {
	if format == "" || format == "table" {
		format = defaultTable
	}
	f := &rowFormat{headers: headers}
	if rest, ok := strings.CutPrefix(format, "table"); ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t') {
		f.table = true
		format = strings.TrimLeft(rest, " \t")
	}
	// Docker's formats write a tab as \t; the shell hands it over as two characters.
	format = strings.NewReplacer(`\t`, "\t", `\n`, "\n").Replace(format)
	t, err := template.New("format").Funcs(templateFuncs).Option("missingkey=zero").Parse(format)
	if err != nil {
		return nil, fmt.Errorf("template parsing error: %w", err)
	}
	f.tmpl = t
	return f, nil
}

// write prints rows (each a value the template reads) to w.
func (f *rowFormat) write(w io.Writer, rows []any) error {
	out := w
	var tw *tabwriter.Writer
	if f.table {
		tw = tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
		out = tw
		if err := f.tmpl.Execute(out, f.headers); err != nil {
			return fmt.Errorf("template: %w", err)
		}
		fmt.Fprintln(out)
	}
	for _, r := range rows {
		if err := f.tmpl.Execute(out, r); err != nil {
			return fmt.Errorf("template: %w", err)
		}
		fmt.Fprintln(out)
	}
	if tw != nil {
		return tw.Flush()
	}
	return nil
}

// typedValue is a value inspect prints that has a typed form, which its templates read first.
type typedValue interface{ typedValue() any }

// executeOn runs format (inspect -f) on v as Docker does on its JSON: v is encoded and decoded
// again, so that fields read as the JSON shows them (numbers as written, times as strings). A
// typedValue's typed form is tried first, as the docker CLI tries the API's type before the
// JSON: there a nil list prints [] and a nil map map[] (the JSON's null prints <no value>),
// and a field the type lacks fails the try.
func executeOn(w io.Writer, format string, v any) error {
	t, err := template.New("format").Funcs(templateFuncs).Parse(format)
	if err != nil {
		return fmt.Errorf("template parsing error: %w", err)
	}
	if tv, ok := v.(typedValue); ok {
		var buf bytes.Buffer
		if t.Execute(&buf, tv.typedValue()) == nil {
			buf.WriteByte('\n')
			_, err := w.Write(buf.Bytes())
			return err
		}
	}
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var generic any
	if err := dec.Decode(&generic); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, generic); err != nil {
		return fmt.Errorf("template: %w", err)
	}
	buf.WriteByte('\n')
	_, err = w.Write(buf.Bytes())
	return err
}
