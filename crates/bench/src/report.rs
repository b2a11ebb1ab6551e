//! The comparison as `report.json`, `report.md` and `report.html` (with SVG charts).
use crate::{
    compare::{ClientColumn, Column, Report},
    stats::{Percentiles, cdf},
};
use plotters::prelude::*;
use std::{fmt::Write as _, path::Path};

/// Writes the three files into `dir`.
pub fn write(report: &Report, dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let json = serde_json::to_string_pretty(report).map_err(std::io::Error::other)?;
    std::fs::write(dir.join("report.json"), json + "\n")?;
    std::fs::write(dir.join("report.md"), markdown(report))?;
    std::fs::write(dir.join("report.html"), html(report))?;
    for (name, svg) in charts(report) {
        std::fs::write(dir.join(format!("{name}.svg")), svg)?;
    }
    Ok(())
}

fn gwei(wei: Option<u128>) -> String {
    wei.map_or("-".into(), |w| format!("{:.6}", w as f64 / 1e9))
}

fn ms(p: &Percentiles) -> String {
    if p.count == 0 {
        "-".into()
    } else {
        format!("{:.0} / {:.0}", p.p50, p.p99)
    }
}

/// The side-by-side table, in Markdown.
pub fn table(report: &Report) -> String {
    let (l1, l2) = (&report.l1, &report.l2);
    let peer = report.peer.as_ref();
    let col = |c: Option<&Column>, f: &dyn Fn(&Column) -> String| c.map_or("-".into(), f);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| | L1 | L2 |{}",
        if peer.is_some() { " peer |" } else { "" }
    );
    let _ = writeln!(
        out,
        "|---|---|---|{}",
        if peer.is_some() { "---|" } else { "" }
    );
    let mut row = |name: &str, a: String, b: String, p: String| {
        let _ = writeln!(
            out,
            "| {name} | {a} | {b} |{}",
            if peer.is_some() {
                format!(" {p} |")
            } else {
                String::new()
            }
        );
    };
    if let Some(why) = peer.and_then(|p| p.stalled.as_ref()) {
        row("stalled", "-".into(), "-".into(), why.clone());
    }
    row(
        "included tx/s",
        format!("{:.0}", l1.tps),
        format!("{:.0}", l2.layer.tps),
        col(peer, &|c| format!("{:.0}", c.tps)),
    );
    row(
        "inclusion latency p50 / p99 (ms)",
        ms(&l1.latency_ms),
        ms(&l2.layer.latency_ms),
        col(peer, &|c| ms(&c.latency_ms)),
    );
    row(
        "L2 preconfirmation p50 / p99 (ms)",
        "-".into(),
        ms(&l2.preconf_ms),
        "-".into(),
    );
    row(
        "L2 safe (batch in final L1 block) p50 / p99 (ms)",
        "-".into(),
        ms(&l2.safe_ms),
        "-".into(),
    );
    row(
        "final p50 / p99 (ms)",
        ms(&l1.latency_ms),
        match (&l2.finalized_ms, l2.challenge_window_s) {
            (Some(f), Some(w)) => format!("{} (output past a {w} s window)", ms(f)),
            (None, Some(w)) => format!("not measured (a {w} s window)"),
            _ => "no OutputOracle".into(),
        },
        "-".into(),
    );
    row(
        "withdrawal L2 -> L1, whole life",
        "-".into(),
        match &l2.withdrawal {
            Some(w) => format!(
                "{:.1} s: output after {:.1} s, {} s window, paid in the {} L1 block past it",
                w.total_ms / 1e3,
                w.to_output_ms / 1e3,
                w.challenge_window_s,
                ordinal(w.l1_blocks_after_window)
            ),
            None => "not measured".into(),
        },
        "-".into(),
    );
    row(
        "fee per transfer (gwei)",
        gwei(l1.fee_wei_per_transfer),
        gwei(l2.layer.fee_wei_per_transfer),
        col(peer, &|c| gwei(c.fee_wei_per_transfer)),
    );
    row(
        "... of which L2 execution / L1 data (gwei)",
        "-".into(),
        format!(
            "{} / {}",
            gwei(l2.execution_fee_wei_per_transfer),
            gwei(l2.l1_data_fee_wei_per_transfer)
        ),
        "-".into(),
    );
    row(
        "fee per ERC-20 transfer (gwei)",
        gwei(l1.fee_wei_per_erc20),
        gwei(l2.layer.fee_wei_per_erc20),
        col(peer, &|c| gwei(c.fee_wei_per_erc20)),
    );
    row(
        "L1 bytes per L2 transaction",
        "-".into(),
        l2.l1_bytes_per_tx.map_or("-".into(), |b| format!("{b:.1}")),
        "-".into(),
    );
    row(
        "compression ratio",
        "-".into(),
        l2.compression_ratio
            .map_or("-".into(), |r| format!("{r:.2}x")),
        "-".into(),
    );
    out
}

/// The client pattern (ethers' and viem's wait: every receipt polled), one column per node.
pub fn client_table(report: &Report) -> String {
    let mut out = String::new();
    if report.client.is_empty() {
        return out;
    }
    let names: Vec<&&str> = report.client.keys().collect();
    let _ = writeln!(
        out,
        "| client pattern | {} |",
        names
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let _ = writeln!(out, "|---|{}", "---|".repeat(names.len()));
    let mut row = |name: &str, f: &dyn Fn(&ClientColumn) -> String| {
        let cells: Vec<String> = report.client.values().map(f).collect();
        let _ = writeln!(out, "| {name} | {} |", cells.join(" | "));
    };
    row("accepted", &|c| format!("{} / {}", c.accepted, c.sent));
    row("end to end tx/s (first send to last receipt)", &|c| {
        format!("{:.0} in {:.1} s", c.tps, c.seconds)
    });
    row("receipt p50 / p99 (ms)", &|c| ms(&c.receipt_ms));
    row("refused", &|c| {
        let refused: Vec<String> = c
            .rejected
            .iter()
            .map(|(e, n)| format!("{n} x {e}"))
            .collect();
        if refused.is_empty() {
            "-".into()
        } else {
            refused.join("; ")
        }
    });
    row("stalled", &|c| {
        c.stalled.clone().unwrap_or_else(|| "-".into())
    });
    out
}

fn markdown(report: &Report) -> String {
    let mut out = String::from("# tandem: L1 vs L2\n\n");
    let w = &report.workload;
    let _ = writeln!(
        out,
        "Workload: {} transactions per layer from {} fresh accounts, {:?} mix (70% ETH transfers, 30% ERC-20 transfers), as fast as each layer takes them. Machine: {} cores, {} GiB.\n",
        w.txs_per_layer,
        w.accounts,
        w.mix,
        report.machine.cores,
        report.machine.memory_bytes.map_or(0, |b| b / (1 << 30))
    );
    out.push_str(&table(report));
    if !report.client.is_empty() {
        let _ = writeln!(
            out,
            "\nThe client pattern: {} transfers pre-signed by {} fresh accounts, one lane per account sending one request each, every receipt polled every {} ms until it appears (as ethers' `tx.wait()` and viem's `waitForTransactionReceipt` do).\n",
            report
                .client
                .values()
                .map(|c| c.sent)
                .max()
                .unwrap_or_default(),
            crate::compare::CLIENT_ACCOUNTS,
            crate::compare::CLIENT_POLL.as_millis()
        );
        out.push_str(&client_table(report));
    }
    if let Some(ratio) = report.fee_ratio_l1_over_l2 {
        let _ = writeln!(out, "\nA transfer costs {ratio:.0}x less on L2 than on L1.");
    }
    out.push_str("\n## Targets\n\n| figure | target | measured | |\n|---|---|---|---|\n");
    for t in &report.targets {
        let verdict = if t.met { "met" } else { "**short**" };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {verdict} |",
            t.what, t.target, t.measured
        );
    }
    out.push_str("\n## Trade-offs\n\n");
    for (what, text) in &report.tradeoffs {
        let _ = writeln!(out, "- **{}**: {text}", what.replace('_', " "));
    }
    out.push_str(
        "\nCharts: `throughput.svg`, `latency.svg`, `fees.svg`; numbers: `report.json`.\n",
    );
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A Markdown table's rows as HTML rows (the header's cells as `th`).
fn html_rows(out: &mut String, table: &str) {
    for (i, line) in table.lines().enumerate() {
        if i == 1 {
            continue;
        }
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let tag = if i == 0 { "th" } else { "td" };
        out.push_str("<tr>");
        for cell in cells {
            let _ = write!(out, "<{tag}>{}</{tag}>", escape(cell));
        }
        out.push_str("</tr>");
    }
}

fn html(report: &Report) -> String {
    let mut out = String::from(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>tandem: L1 vs L2</title>\
         <style>body{font-family:sans-serif;max-width:900px;margin:2em auto}table{border-collapse:collapse}\
         td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child{text-align:left}</style>\
         </head><body><h1>tandem: L1 vs L2</h1><table>",
    );
    html_rows(&mut out, &table(report));
    if !report.client.is_empty() {
        out.push_str("</table><h2>Client pattern</h2><table>");
        html_rows(&mut out, &client_table(report));
    }
    out.push_str("</table><h2>Targets</h2><table><tr><th>figure</th><th>target</th><th>measured</th><th></th></tr>");
    for t in &report.targets {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(t.what),
            escape(t.target),
            escape(&t.measured),
            if t.met { "met" } else { "short" }
        );
    }
    out.push_str("</table><h2>Trade-offs</h2><ul>");
    for (what, text) in &report.tradeoffs {
        let _ = write!(
            out,
            "<li><b>{}</b>: {}</li>",
            escape(&what.replace('_', " ")),
            escape(text)
        );
    }
    out.push_str("</ul>");
    for (name, svg) in charts(report) {
        let _ = write!(out, "<h2>{name}</h2>{svg}");
    }
    out.push_str("</body></html>\n");
    out
}

/// Included workload transactions per second, bucketed by when their block was seen.
fn throughput(blocks: &[crate::load::BlockRecord]) -> Vec<(f64, f64)> {
    let end = blocks.iter().map(|b| b.seen_s).fold(0.0, f64::max).ceil() as usize;
    let mut per_second = vec![0usize; end + 1];
    for b in blocks {
        per_second[b.seen_s as usize] += b.workload_txs;
    }
    per_second
        .iter()
        .enumerate()
        .map(|(s, n)| (s as f64, *n as f64))
        .collect()
}

type Series = (String, RGBColor, Vec<(f64, f64)>);

fn line_chart(title: &str, x: &str, y: &str, series: &[Series], log_y: bool) -> String {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (800, 360)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let max_x = series
            .iter()
            .flat_map(|s| s.2.iter().map(|p| p.0))
            .fold(1.0, f64::max);
        let max_y = series
            .iter()
            .flat_map(|s| s.2.iter().map(|p| p.1))
            .fold(1.0, f64::max);
        let mut builder = ChartBuilder::on(&root);
        builder
            .caption(title, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(70);
        // The same drawing on a linear or a logarithmic y axis (different chart types).
        macro_rules! draw {
            ($chart:expr) => {{
                let mut chart = $chart;
                let _ = chart.configure_mesh().x_desc(x).y_desc(y).draw();
                for (name, color, points) in series {
                    let color = *color;
                    if let Ok(drawn) = chart.draw_series(LineSeries::new(
                        points.iter().copied(),
                        color.stroke_width(2),
                    )) {
                        drawn.label(name.as_str()).legend(move |(x, y)| {
                            PathElement::new(vec![(x, y), (x + 15, y)], color)
                        });
                    }
                }
                let _ = chart
                    .configure_series_labels()
                    .background_style(WHITE.mix(0.8))
                    .border_style(BLACK)
                    .draw();
            }};
        }
        if log_y {
            let min_y = series
                .iter()
                .flat_map(|s| s.2.iter().map(|p| p.1))
                .filter(|v| *v > 0.0)
                .fold(max_y, f64::min);
            if let Ok(chart) = builder
                .build_cartesian_2d(0f64..max_x * 1.05, (min_y / 2.0..max_y * 2.0).log_scale())
            {
                draw!(chart);
            }
        } else if let Ok(chart) = builder.build_cartesian_2d(0f64..max_x * 1.05, 0f64..max_y * 1.1)
        {
            draw!(chart);
        }
        let _ = root.present();
    }
    svg
}

/// The three charts as SVG strings: throughput over time, latency CDFs, base fees over time.
pub fn charts(report: &Report) -> Vec<(&'static str, String)> {
    let runs = &report.runs;
    let mut tput = Vec::new();
    let mut latency = Vec::new();
    if let Some(l1) = &runs.l1 {
        tput.push(("L1".to_string(), BLUE, throughput(&l1.blocks)));
        let l: Vec<f64> = l1.transactions.iter().map(|t| t.latency_ms).collect();
        latency.push(("L1 inclusion = finality".to_string(), BLUE, cdf(&l, 200)));
    }
    if let Some(l2) = &runs.l2 {
        tput.push(("L2".to_string(), RED, throughput(&l2.blocks)));
        let p: Vec<f64> = l2
            .transactions
            .iter()
            .filter_map(|t| t.preconf_ms)
            .collect();
        latency.push(("L2 preconfirmation".to_string(), RED, cdf(&p, 200)));
        latency.push(("L2 safe".to_string(), MAGENTA, cdf(&runs.l2_safe_ms, 200)));
    }
    if let Some(peer) = &runs.peer {
        tput.push(("peer".to_string(), GREEN, throughput(&peer.blocks)));
        let l: Vec<f64> = peer.transactions.iter().map(|t| t.latency_ms).collect();
        latency.push(("peer inclusion".to_string(), GREEN, cdf(&l, 200)));
    }
    let fees: Vec<Series> = vec![
        (
            "L1 transfer fee".into(),
            BLUE,
            report
                .congestion
                .iter()
                .map(|s| (s.t_s, s.l1_transfer_fee_wei as f64 / 1e9))
                .collect(),
        ),
        (
            "L2 transfer fee (execution + L1 data)".into(),
            RED,
            report
                .congestion
                .iter()
                .map(|s| (s.t_s, s.l2_transfer_fee_wei as f64 / 1e9))
                .collect(),
        ),
    ];
    vec![
        (
            "throughput",
            line_chart(
                "Included transactions per second",
                "seconds since the layer's run started",
                "tx/s",
                &tput,
                false,
            ),
        ),
        (
            "latency",
            line_chart(
                "Latency CDF",
                "milliseconds from send",
                "fraction",
                &latency,
                false,
            ),
        ),
        (
            "fees",
            line_chart(
                "What a transfer costs while L1 is loaded",
                "seconds",
                "gwei (log)",
                &fees,
                true,
            ),
        ),
    ]
}

/// 1st, 2nd, 3rd, 4th, ...
fn ordinal(n: u64) -> String {
    let suffix = match (n % 10, n % 100) {
        (1, 11) | (2, 12) | (3, 13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}
