package reports

import (
	"fmt"
	"html/template"
	"strings"

	"paydrill/harness/result"
)

// drillSVG draws a drill's timeline over the run's model time: the faults
// shaded, each step a bar from its start to its end (green when it did
// its job, red when it could not), each event a tick.
func drillSVG(r *result.Result) template.HTML {
	d := r.Drill
	if d == nil || r.ModelDurationS <= 0 {
		return ""
	}
	const width, left, row = 900.0, 170.0, 22.0
	span := r.ModelDurationS
	x := func(s float64) float64 { return left + (width-left-10)*min(max(s, 0), span)/span }
	rows := len(d.Steps) + 1
	height := row*float64(rows) + 30
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" role="img" aria-label="drill timeline">`, width, height)
	for _, o := range r.Outages {
		fmt.Fprintf(&b, `<rect x="%.1f" y="0" width="%.1f" height="%.0f" fill="#f4c7c3" opacity="0.5"><title>%s</title></rect>`,
			x(o.StartS), max(x(o.EndS)-x(o.StartS), 1), height-20, template.HTMLEscapeString(o.Toxic+" on "+o.Link))
	}
	for i, s := range d.Steps {
		y := row * float64(i)
		fmt.Fprintf(&b, `<text x="4" y="%.0f" font-size="12">%s</text>`, y+15, template.HTMLEscapeString(s.Name))
		if s.StartedS == nil {
			fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-size="11" fill="#888">never started</text>`, left, y+15)
			continue
		}
		end := span
		if s.EndedS != nil {
			end = *s.EndedS
		}
		color := "#3c8d40"
		if !s.OK {
			color = "#c0392b"
		}
		fmt.Fprintf(&b, `<rect class="step" x="%.1f" y="%.0f" width="%.1f" height="%.0f" fill="%s"><title>%s (%s): %s</title></rect>`,
			x(*s.StartedS), y+4, max(x(end)-x(*s.StartedS), 2), row-8, color,
			template.HTMLEscapeString(s.Name), s.Do, template.HTMLEscapeString(s.Outcome))
	}
	y := row * float64(len(d.Steps))
	fmt.Fprintf(&b, `<text x="4" y="%.0f" font-size="12">events</text>`, y+15)
	for _, e := range d.Events {
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.0f" y2="%.0f" stroke="#333"><title>%s: %s</title></line>`,
			x(e.AtS), x(e.AtS), y+3, y+row-3, seconds(e.AtS), template.HTMLEscapeString(e.What))
	}
	fmt.Fprintf(&b, `<line x1="%.0f" x2="%.0f" y1="%.0f" y2="%.0f" stroke="#999"/>`, left, width-10, height-22, height-22)
	for i := 0; i <= 4; i++ {
		s := span * float64(i) / 4
		fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" font-size="11" text-anchor="middle">%s</text>`, x(s), height-6, seconds(s))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // built from escaped strings and numbers only
}
