//! The proofs chart: prove time, verify time and proof size against the
//! number of aggregated ranges, drawn as SVG with plotters.
//!
//! Two panels side by side: times on a logarithmic axis (they span two
//! orders of magnitude), sizes on a linear one (they grow by 64 bytes per
//! doubling). The x axis is m on a log2 scale, labelled 1, 2, 4, ….
//! Built without plotters' `ttf` feature: the SVG backend writes text as
//! `<text>` elements and leaves fonts to the viewer.

use anyhow::{Result, anyhow};
use plotters::prelude::*;

/// One aggregated-proof measurement.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Point {
    /// Number of ranges in the proof (a power of two).
    pub(crate) m: usize,
    /// Median prove time, ns.
    pub(crate) prove_ns: u64,
    /// Median verify time, ns.
    pub(crate) verify_ns: u64,
    /// Proof size, bytes.
    pub(crate) size_bytes: u64,
}

/// What to draw.
#[derive(Debug, Clone)]
pub(crate) struct Chart {
    /// The title above both panels.
    pub(crate) title: String,
    /// The points, by increasing m.
    pub(crate) points: Vec<Point>,
}

const WIDTH: u32 = 1100;
const HEIGHT: u32 = 480;

/// Renders `chart` to an SVG document.
pub(crate) fn svg(chart: &Chart) -> Result<String> {
    let mut text = String::new();
    draw(chart, &mut text).map_err(|e| anyhow!("drawing the plot: {e}"))?;
    Ok(text)
}

fn draw(chart: &Chart, text: &mut String) -> Result<(), Box<dyn std::error::Error>> {
    if chart.points.is_empty() {
        return Err("no points to draw".into());
    }
    let log2 = |m: usize| m.max(1).ilog2() as f64;
    let x_max = chart.points.iter().map(|p| log2(p.m)).fold(0.0, f64::max);
    let x_range = -0.2..x_max + 0.2;
    let ms = |ns: u64| ns as f64 / 1e6;
    let times = chart
        .points
        .iter()
        .flat_map(|p| [ms(p.prove_ns), ms(p.verify_ns)]);
    let (t_min, t_max) = times.fold((f64::MAX, 0.0f64), |(lo, hi), t| (lo.min(t), hi.max(t)));
    let t_range = (t_min.max(1e-3) / 2.0)..(t_max.max(1e-3) * 2.0);
    let size_max = chart.points.iter().map(|p| p.size_bytes).max().unwrap_or(0) as f64;
    // Label the powers of two only; plotters may also pick fractional ticks.
    let m_label = |x: &f64| {
        if (x - x.round()).abs() < 1e-6 && *x >= 0.0 {
            format!("{}", 1u64 << (x.round() as u32))
        } else {
            String::new()
        }
    };

    let root = SVGBackend::with_string(text, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(&chart.title, ("sans-serif", 22))?;
    let (left, right) = root.split_horizontally(WIDTH / 2);

    let mut time = ChartBuilder::on(&left)
        .caption("prove and verify time (median)", ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(x_range.clone(), t_range.log_scale())?;
    time.configure_mesh()
        .x_desc("aggregated 64-bit ranges m (log scale)")
        .y_desc("time, ms (log scale)")
        .y_label_formatter(&|v| format!("{v}"))
        .disable_x_mesh()
        .x_labels(chart.points.len())
        .x_label_formatter(&m_label)
        .draw()?;
    let series = [
        (
            "prove",
            RED,
            chart
                .points
                .iter()
                .map(|p| ms(p.prove_ns))
                .collect::<Vec<_>>(),
        ),
        (
            "verify",
            BLUE,
            chart.points.iter().map(|p| ms(p.verify_ns)).collect(),
        ),
    ];
    for (label, color, ys) in series {
        let xy: Vec<(f64, f64)> = chart.points.iter().map(|p| log2(p.m)).zip(ys).collect();
        time.draw_series(LineSeries::new(xy.clone(), color.stroke_width(2)))?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        time.draw_series(xy.into_iter().map(|xy| Circle::new(xy, 4, color.filled())))?;
    }
    time.configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;

    let mut size = ChartBuilder::on(&right)
        .caption("proof size", ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(x_range, 0.0..size_max * 1.15)?;
    size.configure_mesh()
        .x_desc("aggregated 64-bit ranges m (log scale)")
        .y_desc("size, bytes")
        .y_label_formatter(&|v| format!("{v:.0}"))
        .disable_x_mesh()
        .x_labels(chart.points.len())
        .x_label_formatter(&m_label)
        .draw()?;
    let xy: Vec<(f64, f64)> = chart
        .points
        .iter()
        .map(|p| (log2(p.m), p.size_bytes as f64))
        .collect();
    let green = RGBColor(0, 140, 60);
    size.draw_series(LineSeries::new(xy.clone(), green.stroke_width(2)))?
        .label("size")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], green.stroke_width(2)));
    size.draw_series(xy.into_iter().map(|xy| Circle::new(xy, 4, green.filled())))?;
    size.configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_both_panels_with_labels_and_legend() {
        let points = [1usize, 2, 4, 8]
            .iter()
            .map(|&m| Point {
                m,
                prove_ns: 7_000_000 * m as u64,
                verify_ns: 1_000_000 * m as u64,
                size_bytes: 678 + 64 * u64::from(m.ilog2()),
            })
            .collect();
        let svg = svg(&Chart {
            title: "t".into(),
            points,
        })
        .unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..80]);
        // Text elements hold their text on a line of its own.
        let texts: Vec<&str> = svg.lines().map(str::trim).collect();
        for text in [
            "prove",
            "verify",
            "size, bytes",
            "time, ms (log scale)",
            "1",
            "8",
        ] {
            assert!(texts.contains(&text), "missing text {text}");
        }
    }

    #[test]
    fn refuses_an_empty_chart() {
        let chart = Chart {
            title: "t".into(),
            points: vec![],
        };
        assert!(svg(&chart).is_err());
    }
}
