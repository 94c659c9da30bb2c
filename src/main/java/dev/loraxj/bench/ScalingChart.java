package dev.loraxj.bench;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.lines.SeriesLines;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.awt.Color;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The adapter-scaling figure as S-LoRA and Punica plot it: throughput and TTFT p50 against the
 * number of distinct adapters, with the base model (no adapter) as a dashed line, in a CSV and a
 * two-panel PNG.
 */
final class ScalingChart {

    /** One measured point: {@code adapters} distinct adapters among the clients (medians over rounds). */
    record Point(int adapters, double tokensPerSecond, double ttftP50Seconds, double ttftP99Seconds) {
    }

    private ScalingChart() {
    }

    /** Writes {@code name}.csv and {@code name}.png into {@code dir}; returns the two paths. */
    static List<Path> write(Path dir, String name, String subtitle, Point base, List<Point> points) {
        try {
            Files.createDirectories(dir);
            Path csv = dir.resolve(name + ".csv");
            StringBuilder s = new StringBuilder("adapters,tokens_per_second,ttft_p50_s,ttft_p99_s,throughput_vs_base,ttft_p50_vs_base\n");
            s.append(row("base", base, base));
            for (Point p : points) {
                s.append(row(String.valueOf(p.adapters()), p, base));
            }
            Files.writeString(csv, s.toString());
            Path png = dir.resolve(name + ".png");
            XYChart tput = chart("Throughput vs distinct adapters", subtitle, "generated tokens / s");
            XYChart ttft = chart("TTFT p50 vs distinct adapters", subtitle, "TTFT p50 (s)");
            double[] x = points.stream().mapToDouble(p -> log2(p.adapters())).toArray();
            line(tput, "LoRA adapters", x, points.stream().mapToDouble(Point::tokensPerSecond).toArray(), false);
            line(ttft, "LoRA adapters", x, points.stream().mapToDouble(Point::ttftP50Seconds).toArray(), false);
            double[] span = {x[0], x[x.length - 1] == x[0] ? x[0] + 1 : x[x.length - 1]};
            line(tput, "base model", span, new double[] {base.tokensPerSecond(), base.tokensPerSecond()}, true);
            line(ttft, "base model", span, new double[] {base.ttftP50Seconds(), base.ttftP50Seconds()}, true);
            BitmapEncoder.saveBitmap(List.of(tput, ttft), 1, 2, png.toString(), BitmapEncoder.BitmapFormat.PNG);
            return List.of(csv, png);
        } catch (IOException e) {
            throw new IllegalStateException("cannot write the scaling chart to " + dir + ": " + e.getMessage(), e);
        }
    }

    private static String row(String label, Point p, Point base) {
        return String.format(Locale.ROOT, "%s,%.2f,%.4f,%.4f,%.4f,%.4f%n", label, p.tokensPerSecond(), p.ttftP50Seconds(),
                p.ttftP99Seconds(), p.tokensPerSecond() / base.tokensPerSecond(), p.ttftP50Seconds() / base.ttftP50Seconds());
    }

    private static XYChart chart(String title, String subtitle, String yTitle) {
        XYChart c = new XYChartBuilder().width(720).height(480).title(title + " (" + subtitle + ")")
                .xAxisTitle("distinct adapters (log scale)").yAxisTitle(yTitle).build();
        // x is log2(adapters) on a linear axis, so ticks fall on 1, 2, 4, ... and are labelled with the count
        c.getStyler().setxAxisTickLabelsFormattingFunction(v -> Math.abs(v - Math.rint(v)) < 1e-6
                ? String.valueOf(Math.round(Math.pow(2, Math.rint(v)))) : "");
        c.getStyler().setYAxisMin(0.0);
        c.getStyler().setLegendPosition(Styler.LegendPosition.InsideSE);
        c.getStyler().setChartTitleFont(c.getStyler().getChartTitleFont().deriveFont(12f));
        c.getStyler().setChartBackgroundColor(Color.WHITE);
        return c;
    }

    private static double log2(int n) {
        return Math.log(n) / Math.log(2);
    }

    private static void line(XYChart c, String name, double[] x, double[] y, boolean dashed) {
        XYSeries s = c.addSeries(name, x, y);
        if (dashed) {
            s.setLineStyle(SeriesLines.DASH_DASH);
            s.setMarker(SeriesMarkers.NONE);
            s.setLineColor(Color.GRAY);
        } else {
            s.setMarker(SeriesMarkers.CIRCLE);
        }
    }
}
