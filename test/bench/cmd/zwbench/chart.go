package main

import (
	"fmt"
	"image/color"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// drawCharts draws what README shows: apply time against the number of
// containers (log-log), and the packet path as a share of no ruleset.
func drawCharts(r *Report, dir string) ([]string, error) {
	var paths []string
	if p, err := drawApplyChart(r, filepath.Join(dir, "apply.png")); err != nil {
		return nil, err
	} else if p != "" {
		paths = append(paths, p)
	}
	if p, err := drawPacketChart(r, filepath.Join(dir, "packet-path.png")); err != nil {
		return nil, err
	} else if p != "" {
		paths = append(paths, p)
	}
	return paths, nil
}

// series collects (containers, median ms) points of one line.
type series struct {
	name   string
	points plotter.XYs
}

func drawApplyChart(r *Report, path string) (string, error) {
	lines := []*series{
		{name: "zonewall, from scratch"}, {name: "linear nft -f, from scratch"},
		{name: "zonewall, one container start"}, {name: "linear nft -f, one container start"},
		{name: "zonewall, one container start, apply part only"},
	}
	for _, f := range r.Figures {
		if f.Scenario != "apply" {
			continue
		}
		n, _ := f.Info["containers"].(int)
		var zw, lin *series
		switch {
		case strings.HasPrefix(f.Name, "apply from scratch"):
			zw, lin = lines[0], lines[1]
		case strings.HasPrefix(f.Name, "one container start"):
			zw, lin = lines[2], lines[3]
		case strings.HasPrefix(f.Name, "  apply part only, one start"):
			if f.Zonewall != nil && f.Zonewall.Median > 0 { // zonewall only: no baseline line
				lines[4].points = append(lines[4].points, plotter.XY{X: float64(n), Y: f.Zonewall.Median})
			}
			continue
		default:
			continue
		}
		if f.Zonewall != nil && f.Zonewall.Median > 0 {
			zw.points = append(zw.points, plotter.XY{X: float64(n), Y: f.Zonewall.Median})
		}
		if f.Baseline != nil && f.Baseline.Median > 0 {
			lin.points = append(lin.points, plotter.XY{X: float64(n), Y: f.Baseline.Median})
		}
	}
	p := plot.New()
	p.Title.Text = "Compile + apply time (median), 50 zones"
	p.X.Label.Text = "containers"
	p.Y.Label.Text = "milliseconds"
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.X.Tick.Marker, p.Y.Tick.Marker = plot.LogTicks{Prec: -1}, plot.LogTicks{Prec: -1}
	p.Legend.Top, p.Legend.Left = true, true
	drawn := 0
	for i, s := range lines {
		if len(s.points) == 0 {
			continue
		}
		l, pts, err := plotter.NewLinePoints(s.points)
		if err != nil {
			return "", fmt.Errorf("apply chart: %w", err)
		}
		l.Color = plotutil.Color(i / 2 * 2)
		if i == 4 {
			l.Color = plotutil.Color(2)
			l.Dashes = []vg.Length{vg.Points(1), vg.Points(2)}
		}
		pts.Color = l.Color
		if i%2 == 1 {
			l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		}
		pts.Shape = plotutil.Shape(i)
		p.Add(l, pts)
		p.Legend.Add(s.name, l, pts)
		drawn++
	}
	if drawn == 0 {
		return "", nil
	}
	p.Add(plotter.NewGrid())
	if err := p.Save(8*vg.Inch, 5*vg.Inch, path); err != nil {
		return "", fmt.Errorf("save %s: %w", path, err)
	}
	return path, nil
}

func drawPacketChart(r *Report, path string) (string, error) {
	var labels []string
	var zw, ct, dk, lin plotter.Values
	for _, f := range r.Figures {
		if f.Scenario != "packet" || !strings.HasSuffix(f.Name, "vs no ruleset") || strings.Contains(f.Name, ": ") || f.Zonewall == nil || f.Baseline == nil {
			continue // ": " names another variant against no ruleset
		}
		metric := strings.TrimSuffix(f.Name, " vs no ruleset")
		labels = append(labels, metric)
		zw = append(zw, 100*Ratio(f.Zonewall.Median, f.Baseline.Median))
		ct = append(ct, 100*Ratio(baselineMedian(r, metric, "vs "+conntrackOnlyName), f.Baseline.Median))
		dk = append(dk, 100*Ratio(baselineMedian(r, metric, "vs "+dockerIptablesName), f.Baseline.Median))
		lin = append(lin, 100*Ratio(baselineMedian(r, metric, "vs linear"), f.Baseline.Median))
	}
	if len(labels) == 0 {
		return "", nil
	}
	p := plot.New()
	p.Title.Text = "Packet path between two containers on one bridge (median)"
	p.Y.Label.Text = "% of the same path with no ruleset"
	p.Y.Min, p.Y.Max = 0, 120
	w := vg.Points(22)
	bars := []struct {
		values plotter.Values
		label  string
	}{{zw, zwPacketLabel(r)}, {ct, conntrackOnlyName}, {dk, dockerIptablesName + " (no zonewall)"}, {lin, linPacketLabel(r)}}
	for i, b := range bars {
		bc, err := plotter.NewBarChart(b.values, w)
		if err != nil {
			return "", fmt.Errorf("packet chart: %w", err)
		}
		bc.Color = plotutil.Color(i)
		bc.LineStyle.Width = 0
		bc.Offset = (vg.Length(i) - 1.5) * w
		p.Add(bc)
		p.Legend.Add(b.label, bc)
	}
	goal, err := plotter.NewLine(plotter.XYs{{X: -0.5, Y: 95}, {X: float64(len(labels)) - 0.5, Y: 95}})
	if err != nil {
		return "", err
	}
	goal.Color = color.Gray{Y: 90}
	goal.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(goal)
	p.Legend.Add("goal: 95 %", goal)
	p.Legend.Top = true
	p.NominalX(labels...)
	if err := p.Save(8*vg.Inch, 5*vg.Inch, path); err != nil {
		return "", fmt.Errorf("save %s: %w", path, err)
	}
	return path, nil
}

// baselineMedian finds a baseline's median for a packet metric, from the
// figure named "<metric> <vs>..." (0 when the run has none).
func baselineMedian(r *Report, metric, vs string) float64 {
	for _, f := range r.Figures {
		if f.Scenario == "packet" && strings.HasPrefix(f.Name, metric+" "+vs) && f.Baseline != nil {
			return f.Baseline.Median
		}
	}
	return 0
}

func zwPacketLabel(r *Report) string {
	for _, f := range r.Figures {
		if f.Scenario == "packet" && f.Info != nil {
			if m, ok := f.Info["members"].(int); ok {
				return fmt.Sprintf("zonewall, %d members", m)
			}
		}
	}
	return "zonewall"
}

func linPacketLabel(r *Report) string {
	for _, f := range r.Figures {
		if f.Scenario == "packet" && strings.Contains(f.Name, "vs linear") {
			return f.BaselineName
		}
	}
	return "linear"
}
