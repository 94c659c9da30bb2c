package dev.loraxj.tracing;

import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

/** The in-process receiver: Quarkus exports to SpanExporter beans (and then starts no OTLP exporter). */
public class InMemoryTraces {

    @Produces
    @Singleton
    InMemorySpanExporter exporter() {
        return InMemorySpanExporter.create();
    }
}
