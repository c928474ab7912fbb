import Foundation
import MLCore

/// The per-epoch metrics of a training run drawn as a self-contained SVG document (`metrics.svg`
/// in the output data directory), for a person to open in a browser.
///
/// - One panel per loss metric (objective), first, with a line per channel — `train` blue, `validation`
///   orange, `test` green, in every panel — and a legend.
/// - One panel for the scores whose values all lie in [0, 1] (accuracy, F1, …), its axis fitted to
///   the data within [0, 1]; a score outside [0, 1] gets a panel of its own. Two metrics of one
///   channel in one panel differ by dash pattern.
/// - The early-stopping criterion is drawn too when it is not one of the epoch's metrics (the
///   training objective with the penalty).
/// - The best epoch as a dashed vertical line and a ring on each series.
/// - Axis ticks at 1-2-5 steps covering the data; epochs (0-based, as in the logs) on the x-axis.
/// - A value that is NaN or infinite breaks its line (a gap) and is listed under its panel. A
///   metric missing from an epoch is skipped without a gap. A run of one finite value is a dot.
///
/// The output depends only on the arguments — no dates, locale, fonts or randomness — so the same
/// history gives the same bytes. Everything is inline (no external fonts, CSS or scripts); every
/// text, the title included, is escaped for XML.
public enum MetricsPlot {
    /// The SVG document. `bestEpoch` is marked when given; when `nil` it is the last epoch whose
    /// ``EpochSummary/improved`` is set (``bestEpoch(in:)``).
    public static func svg(history: [EpochSummary], title: String, bestEpoch: Int? = nil) -> String {
        var doc = SVGDocument()
        let best = bestEpoch ?? Self.bestEpoch(in: history)
        let epochs = stableSortedByEpoch(history)
        guard let first = epochs.first, let last = epochs.last else {
            let height = 110
            doc.open(width: Layout.width, height: height, title: title, description: "No epochs completed.")
            doc.heading(title)
            doc.text("no epochs completed", x: Layout.left, y: 80, size: 14, fill: "#555555")
            return doc.close()
        }

        let panels = makePanels(epochs)
        let xAxis = Axis.epochs(first: first.epoch, last: last.epoch, plotWidth: Layout.plotWidth)
        let layouts = panels.map { PanelLayout(panel: $0) }
        let height = Layout.headerHeight + layouts.reduce(0) { $0 + $1.height } + Layout.bottomMargin

        var subtitle = "\(epochs.count) epoch\(epochs.count == 1 ? "" : "s") completed"
        subtitle += first.epoch == last.epoch ? " (epoch \(first.epoch))" : " (epochs \(first.epoch)–\(last.epoch))"
        subtitle += " of \(last.epochs)"
        if let best { subtitle += " · best epoch \(best)" }
        let criterion = "early-stopping criterion: \(last.criterion.channel) \(last.criterion.name)"
        let description = "Per-epoch metrics. " + subtitle + ". " + criterion + ". Panels: "
            + panels.map { $0.title }.joined(separator: "; ") + "."

        doc.open(width: Layout.width, height: height, title: title, description: description)
        doc.heading(title)
        doc.text(subtitle, x: Layout.left, y: 50, size: 12, fill: "#555555", cssClass: "subtitle")
        doc.text(criterion, x: Layout.left, y: 66, size: 12, fill: "#555555", cssClass: "subtitle")
        if panels.isEmpty {
            doc.text("the epochs carry no metrics", x: Layout.left, y: 100, size: 14, fill: "#555555")
        }
        var y = Layout.headerHeight
        for layout in layouts {
            draw(layout, top: y, xAxis: xAxis, bestEpoch: best, into: &doc)
            y += layout.height
        }
        return doc.close()
    }

    /// The last epoch that improved the criterion: the one the trainer keeps as the best.
    public static func bestEpoch(in history: [EpochSummary]) -> Int? {
        history.filter(\.improved).map(\.epoch).max()
    }

    // MARK: - Data

    struct Series {
        var channel: String
        var name: String
        var kind: MetricKind
        /// The early-stopping criterion, not one of the epoch's metrics.
        var criterionOnly = false
        var points: [(epoch: Int, value: Double)] = []
        var label = ""
        var color = ""
        var dash: String?

        /// Runs of consecutive finite values; a non-finite value ends a run.
        var segments: [[(epoch: Int, value: Double)]] {
            var out: [[(epoch: Int, value: Double)]] = [], run: [(epoch: Int, value: Double)] = []
            for p in points {
                if p.value.isFinite { run.append(p) } else if !run.isEmpty { out.append(run); run = [] }
            }
            if !run.isEmpty { out.append(run) }
            return out
        }

        var nonFiniteEpochs: [Int] { points.filter { !$0.value.isFinite }.map(\.epoch) }
        var finiteValues: [Double] { points.map(\.value).filter(\.isFinite) }
    }

    struct Panel {
        var title: String
        var series: [Series]
        /// Keep the axis within [0, 1] (a panel of scores that all lie there).
        var unitInterval: Bool
    }

    static func stableSortedByEpoch(_ history: [EpochSummary]) -> [EpochSummary] {
        history.enumerated().sorted { ($0.element.epoch, $0.offset) < ($1.element.epoch, $1.offset) }.map(\.element)
    }

    static let channelColors: [String: String] = ["train": "#1f77b4", "validation": "#ff7f0e", "test": "#2ca02c"]
    static let otherColors = ["#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"]
    static let dashes: [String?] = [nil, "7 4", "2 3", "9 3 2 3"]

    static func makePanels(_ epochs: [EpochSummary]) -> [Panel] {
        // Every (channel, name) in order of first appearance, with its value in each epoch.
        var series: [Series] = [], index: [String: Int] = [:]
        for summary in epochs {
            var seen = Set<String>()
            var values = summary.metrics.map { ($0, false) }
            if !values.contains(where: { $0.0.channel == summary.criterion.channel && $0.0.name == summary.criterion.name }) {
                values.append((summary.criterion, true))
            }
            for (metric, isCriterion) in values {
                let key = metric.channel + "\u{0}" + metric.name
                guard seen.insert(key).inserted else { continue }  // the first of a duplicate wins
                if index[key] == nil {
                    index[key] = series.count
                    series.append(Series(channel: metric.channel, name: metric.name, kind: metric.kind, criterionOnly: isCriterion))
                }
                series[index[key]!].points.append((summary.epoch, metric.value))
            }
        }

        // Colors by channel, the same in every panel.
        var colors = channelColors, nextOther = 0
        for s in series where colors[s.channel] == nil {
            colors[s.channel] = otherColors[nextOther % otherColors.count]
            nextOther += 1
        }

        var panels: [Panel] = [], panelOf: [String: Int] = [:]
        func add(_ s: Series, panel key: String, title: String, unitInterval: Bool) {
            if panelOf[key] == nil {
                panelOf[key] = panels.count
                panels.append(Panel(title: title, series: [], unitInterval: unitInterval))
            }
            panels[panelOf[key]!].series.append(s)
        }
        for var s in series {
            s.color = colors[s.channel] ?? otherColors[0]
            let inUnit = s.finiteValues.allSatisfy { $0 >= 0 && $0 <= 1 }
            if s.kind == .score && inUnit {
                s.label = s.channel + " " + s.name
                add(s, panel: "\u{1}scores", title: "scores (higher is better)", unitInterval: true)
            } else {
                s.label = s.channel
                add(s, panel: s.kind.rawValue + "\u{0}" + s.name,
                    title: s.name + (s.criterionOnly ? " (early-stopping criterion, " : " (")
                        + (s.kind == .loss ? "lower is better)" : "higher is better)"), unitInterval: false)
            }
        }
        // Objectives first, then scores; otherwise in order of first appearance.
        panels = panels.filter { $0.series[0].kind == .loss } + panels.filter { $0.series[0].kind != .loss }
        // Within a panel, the k-th series of one channel gets the k-th dash pattern.
        for p in panels.indices {
            var perChannel: [String: Int] = [:]
            for s in panels[p].series.indices {
                let k = perChannel[panels[p].series[s].channel, default: 0]
                perChannel[panels[p].series[s].channel] = k + 1
                panels[p].series[s].dash = dashes[k % dashes.count]
            }
        }
        return panels
    }

    // MARK: - Axes

    /// A linear axis from `low` to `high` (the outermost ticks) with its tick labels.
    struct Axis {
        var low: Double
        var high: Double
        var ticks: [(value: Double, label: String)]

        /// Epochs: integer ticks at 1-2-5 steps covering the epochs; one epoch sits in the middle.
        static func epochs(first: Int, last: Int, plotWidth: Double) -> Axis {
            if first == last {
                return Axis(low: Double(first) - 0.5, high: Double(last) + 0.5, ticks: [(Double(first), String(first))])
            }
            let intervals = max(2, Int(plotWidth / 80))
            var axis = nice(low: Double(first), high: Double(last), intervals: intervals, minimumExponent: 0)
            // The data's range, ticks inside it: no empty epochs after the last.
            axis.ticks.removeAll { $0.value < Double(first) || $0.value > Double(last) }
            axis.low = Double(first)
            axis.high = Double(last)
            return axis
        }

        /// Values: ticks at 1-2-5 steps covering [low, high]; a constant gets room around it.
        static func values(_ values: [Double], unitInterval: Bool) -> Axis {
            guard var low = values.min(), var high = values.max() else {
                return nice(low: 0, high: 1, intervals: 5, minimumExponent: nil)
            }
            if high - low <= max(abs(low), abs(high)) * 1e-9 {
                // Constant (to nine digits): a band around it, so the line sits mid-panel.
                low = (low + high) / 2
                high = low
                let pad = low == 0 ? 1 : abs(low) * 0.1
                let nonNegative = low >= 0
                low -= pad
                high += pad
                if nonNegative { low = max(low, 0) }
            }
            var axis = nice(low: low, high: high, intervals: 5, minimumExponent: nil)
            if unitInterval {
                axis.ticks.removeAll { $0.value < -1e-12 || $0.value > 1 + 1e-12 }
                if let a = axis.ticks.first, let b = axis.ticks.last {
                    axis.low = a.value
                    axis.high = b.value
                }
            } else if values.allSatisfy({ $0 >= 0 }) && axis.low < 0 {
                axis.ticks.removeAll { $0.value < -1e-12 }
                axis.low = axis.ticks.first?.value ?? 0
            }
            return axis
        }

        /// At most `intervals` steps of 1, 2 or 5 × 10ⁿ (n ≥ `minimumExponent`) covering the range.
        static func nice(low: Double, high: Double, intervals: Int, minimumExponent: Int?) -> Axis {
            let rough = (high - low) / Double(intervals)
            var exponent = Int((log10(rough)).rounded(.down))
            let fraction = rough / pow(10, Double(exponent))
            var mantissa: Int
            switch fraction {
            case ...1.000000001: mantissa = 1
            case ...2.000000001: mantissa = 2
            case ...5.000000001: mantissa = 5
            default: mantissa = 1; exponent += 1
            }
            if let minimumExponent, exponent < minimumExponent { mantissa = 1; exponent = minimumExponent }
            let step = Double(mantissa) * pow(10, Double(exponent))
            let kLow = Int((low / step + 1e-9).rounded(.down)), kHigh = Int((high / step - 1e-9).rounded(.up))
            let integers = (kLow...max(kLow, kHigh)).map { $0 * mantissa }
            let labels = TickFormat.labels(integers, exponent: exponent)
            let ticks = zip(integers, labels).map { (Double($0.0) * pow(10, Double(exponent)), $0.1) }
            return Axis(low: ticks.first!.0, high: ticks.last!.0, ticks: ticks)
        }

        /// Where `value` falls on a side of the frame from `start` of `length`, inset at both ends.
        func position(_ value: Double, from start: Double, length: Double) -> Double {
            start + Layout.inset + (value - low) / (high - low) * (length - 2 * Layout.inset)
        }
    }

    /// Tick labels of N × 10^e, from the integers (never from a rounded Double, never a locale).
    enum TickFormat {
        static func labels(_ integers: [Int], exponent e: Int) -> [String] {
            let largest = integers.map { abs($0) }.max() ?? 0
            let digits = String(largest).count + max(e, 0)
            let scientific = digits > 7 || e < -6
            return integers.map { scientific ? self.scientific($0, e) : fixed($0, e) }
        }

        static func fixed(_ n: Int, _ e: Int) -> String {
            if e >= 0 { return n == 0 ? "0" : String(n) + String(repeating: "0", count: e) }
            let decimals = -e
            var s = String(abs(n))
            if s.count <= decimals { s = String(repeating: "0", count: decimals - s.count + 1) + s }
            let point = s.index(s.endIndex, offsetBy: -decimals)
            return (n < 0 ? "-" : "") + s[..<point] + "." + s[point...]
        }

        static func scientific(_ n: Int, _ e: Int) -> String {
            guard n != 0 else { return "0" }
            var s = String(abs(n)), exponent = e
            while s.count > 1 && s.hasSuffix("0") { s.removeLast(); exponent += 1 }
            exponent += s.count - 1
            let mantissa = s.count == 1 ? s : String(s.first!) + "." + s.dropFirst()
            return (n < 0 ? "-" : "") + mantissa + "e" + String(exponent)
        }
    }

    // MARK: - Layout and drawing

    enum Layout {
        static let width = 860
        static let left = 76.0
        static let right = 28.0
        static var plotWidth: Double { Double(width) - left - right }
        static let plotHeight = 190.0
        static let headerHeight = 84
        /// Space between the frame and the outermost ticks, so points never sit on the frame.
        static let inset = 10.0
        static let bottomMargin = 8
        static let titleSize = 13.0
        static let legendSize = 11.0
        static let legendRow = 17.0
        static let noteRow = 15.0
        /// DejaVu Sans / Helvetica average advance, as a fraction of the font size.
        static func textWidth(_ text: String, size: Double) -> Double { Double(text.count) * size * 0.62 }
        /// Series with at most this many points get a dot on every value.
        static let markerLimit = 30
    }

    struct PanelLayout {
        var panel: Panel
        /// Legend rows: (series index, x offset from the plot's left).
        var legend: [[(series: Int, x: Double)]]
        var notes: [String]

        init(panel: Panel) {
            self.panel = panel
            var rows: [[(series: Int, x: Double)]] = [[]], x = 0.0
            for (i, s) in panel.series.enumerated() {
                let w = 30 + Layout.textWidth(s.label, size: Layout.legendSize)
                if x > 0 && x + w > Layout.plotWidth { rows.append([]); x = 0 }
                rows[rows.count - 1].append((i, x))
                x += w + 18
            }
            legend = rows
            notes = panel.series.compactMap { s in
                let bad = s.nonFiniteEpochs
                guard !bad.isEmpty else { return nil }
                let listed = bad.prefix(12).map(String.init).joined(separator: ", ") + (bad.count > 12 ? ", …" : "")
                return "\(s.label): \(bad.count) non-finite value\(bad.count == 1 ? "" : "s") (NaN or ±∞) not drawn, epoch\(bad.count == 1 ? "" : "s") \(listed)"
            }
        }

        /// Below the title, the legend and a row for the best-epoch label.
        var plotTop: Double { 22 + Double(legend.count) * Layout.legendRow + 16 }
        var height: Int {
            Int(plotTop + Layout.plotHeight + 40 + Double(notes.count) * Layout.noteRow + 16)
        }
    }

    static func draw(_ layout: PanelLayout, top: Int, xAxis: Axis, bestEpoch: Int?, into doc: inout SVGDocument) {
        let panel = layout.panel
        let top = Double(top)
        let left = Layout.left, width = Layout.plotWidth, height = Layout.plotHeight
        let plotTop = top + layout.plotTop, plotBottom = plotTop + height
        let yAxis = Axis.values(panel.series.flatMap(\.finiteValues), unitInterval: panel.unitInterval)
        func px(_ epoch: Int) -> Double { xAxis.position(Double(epoch), from: left, length: width) }
        func py(_ value: Double) -> Double { plotBottom - yAxis.position(value, from: 0, length: height) }

        doc.raw("<g class=\"panel\">")
        doc.text(panel.title, x: left, y: top + 14, size: Layout.titleSize, fill: "#222222", bold: true, cssClass: "panel-title")

        // Legend.
        doc.raw("<g class=\"legend\">")
        for (r, row) in layout.legend.enumerated() {
            let y = top + 22 + Double(r) * Layout.legendRow + 8
            for item in row {
                let s = panel.series[item.series], x = left + item.x
                doc.raw("<line x1=\"\(f(x))\" y1=\"\(f(y))\" x2=\"\(f(x + 24))\" y2=\"\(f(y))\" stroke=\"\(s.color)\" stroke-width=\"2.5\"\(dashAttribute(s.dash))/>")
                doc.text(s.label, x: x + 30, y: y + 4, size: Layout.legendSize, fill: "#333333")
            }
        }
        doc.raw("</g>")

        // Grid, frame and ticks.
        doc.raw("<g class=\"axes\" font-size=\"11\" fill=\"#444444\">")
        for tick in yAxis.ticks {
            let y = py(tick.value)
            doc.raw("<line x1=\"\(f(left))\" y1=\"\(f(y))\" x2=\"\(f(left + width))\" y2=\"\(f(y))\" stroke=\"#e6e6e6\"/>")
            doc.raw("<text class=\"y-tick\" x=\"\(f(left - 7))\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(escape(tick.label))</text>")
        }
        for tick in xAxis.ticks {
            let x = xAxis.position(tick.value, from: left, length: width)
            doc.raw("<line x1=\"\(f(x))\" y1=\"\(f(plotTop))\" x2=\"\(f(x))\" y2=\"\(f(plotBottom))\" stroke=\"#f0f0f0\"/>")
            doc.raw("<line x1=\"\(f(x))\" y1=\"\(f(plotBottom))\" x2=\"\(f(x))\" y2=\"\(f(plotBottom + 4))\" stroke=\"#888888\"/>")
            doc.raw("<text class=\"x-tick\" x=\"\(f(x))\" y=\"\(f(plotBottom + 16))\" text-anchor=\"middle\">\(escape(tick.label))</text>")
        }
        doc.raw("<rect x=\"\(f(left))\" y=\"\(f(plotTop))\" width=\"\(f(width))\" height=\"\(f(height))\" fill=\"none\" stroke=\"#999999\"/>")
        doc.raw("<text x=\"\(f(left + width / 2))\" y=\"\(f(plotBottom + 32))\" text-anchor=\"middle\" fill=\"#555555\">epoch</text>")
        doc.raw("</g>")

        // Best epoch.
        if let bestEpoch, Double(bestEpoch) >= xAxis.low, Double(bestEpoch) <= xAxis.high {
            let x = px(bestEpoch)
            doc.raw("<line class=\"best-epoch\" x1=\"\(f(x))\" y1=\"\(f(plotTop))\" x2=\"\(f(x))\" y2=\"\(f(plotBottom))\" stroke=\"#444444\" stroke-width=\"1.2\" stroke-dasharray=\"5 4\"/>")
            let label = "best epoch \(bestEpoch)"
            // Centred above the line, kept within the frame's width.
            let half = Layout.textWidth(label, size: 11) / 2
            let centre = min(max(x, left + half), left + width - half)
            doc.raw("<text class=\"best-epoch-label\" x=\"\(f(centre))\" y=\"\(f(plotTop - 5))\" text-anchor=\"middle\" font-size=\"11\" fill=\"#444444\">\(escape(label))</text>")
        }

        // Series.
        for s in panel.series {
            doc.raw("<g class=\"series\" data-channel=\"\(escape(s.channel))\" data-metric=\"\(escape(s.name))\">")
            doc.raw("<title>\(escape(s.label))</title>")
            let segments = s.segments
            for segment in segments {
                if segment.count == 1 {
                    let p = segment[0]
                    doc.raw("<circle class=\"point\" cx=\"\(f(px(p.epoch)))\" cy=\"\(f(py(p.value)))\" r=\"3.5\" fill=\"\(s.color)\"/>")
                } else {
                    let points = segment.map { "\(f(px($0.epoch))),\(f(py($0.value)))" }.joined(separator: " ")
                    doc.raw("<polyline class=\"line\" points=\"\(points)\" fill=\"none\" stroke=\"\(s.color)\" stroke-width=\"2\" stroke-linejoin=\"round\" stroke-linecap=\"round\"\(dashAttribute(s.dash))/>")
                }
            }
            if s.points.count <= Layout.markerLimit {
                for segment in segments where segment.count > 1 {
                    for p in segment {
                        doc.raw("<circle class=\"marker\" cx=\"\(f(px(p.epoch)))\" cy=\"\(f(py(p.value)))\" r=\"2.2\" fill=\"\(s.color)\"/>")
                    }
                }
            }
            if let bestEpoch, let p = s.points.first(where: { $0.epoch == bestEpoch }), p.value.isFinite {
                doc.raw("<circle class=\"best\" cx=\"\(f(px(p.epoch)))\" cy=\"\(f(py(p.value)))\" r=\"5.5\" fill=\"none\" stroke=\"\(s.color)\" stroke-width=\"1.8\"/>")
            }
            doc.raw("</g>")
        }

        // Notes on values not drawn.
        for (i, note) in layout.notes.enumerated() {
            doc.text(note, x: left, y: plotBottom + 48 + Double(i) * Layout.noteRow, size: 11, fill: "#b00020", cssClass: "note")
        }
        doc.raw("</g>")
    }

    static func dashAttribute(_ dash: String?) -> String {
        dash.map { " stroke-dasharray=\"\($0)\"" } ?? ""
    }

    // MARK: - Text

    /// A coordinate to two decimals without trailing zeros, independent of locale.
    static func f(_ value: Double) -> String {
        let hundredths = Int((value * 100).rounded())
        let whole = abs(hundredths) / 100, fraction = abs(hundredths) % 100
        var s = (hundredths < 0 ? "-" : "") + String(whole)
        if fraction != 0 {
            s += "." + (fraction < 10 ? "0" : "") + String(fraction)
            if s.hasSuffix("0") { s.removeLast() }
        }
        return s
    }

    /// Text safe in XML content and attribute values: `& < > " '` escaped, and the characters
    /// XML 1.0 forbids (control characters other than tab, newline and return; U+FFFE, U+FFFF)
    /// replaced with U+FFFD.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            case _ where scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF:
                out += "\u{FFFD}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    struct SVGDocument {
        var lines: [String] = []

        mutating func open(width: Int, height: Int, title: String, description: String) {
            lines.append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
            lines.append("<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" role=\"img\" aria-labelledby=\"plot-title plot-desc\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">")
            lines.append("<title id=\"plot-title\">\(escape(title))</title>")
            lines.append("<desc id=\"plot-desc\">\(escape(description))</desc>")
            lines.append("<rect width=\"\(width)\" height=\"\(height)\" fill=\"#ffffff\"/>")
        }

        /// The title as a heading, shortened (whole characters) to fit the width.
        mutating func heading(_ title: String) {
            let size = 18.0, room = Int((Double(Layout.width) - Layout.left - Layout.right) / (size * 0.62))
            let oneLine = String(title.map { $0.isNewline ? " " : $0 })
            let shown = oneLine.count > room ? String(oneLine.prefix(room - 1)) + "…" : oneLine
            text(shown, x: Layout.left, y: 30, size: size, fill: "#111111", bold: true, cssClass: "heading")
        }

        mutating func text(_ content: String, x: Double, y: Double, size: Double, fill: String, bold: Bool = false, cssClass: String? = nil) {
            let cls = cssClass.map { " class=\"\($0)\"" } ?? ""
            lines.append("<text\(cls) x=\"\(f(x))\" y=\"\(f(y))\" font-size=\"\(f(size))\" fill=\"\(fill)\"\(bold ? " font-weight=\"bold\"" : "")>\(escape(content))</text>")
        }

        mutating func raw(_ line: String) { lines.append(line) }

        func close() -> String { (lines + ["</svg>"]).joined(separator: "\n") + "\n" }
    }
}
