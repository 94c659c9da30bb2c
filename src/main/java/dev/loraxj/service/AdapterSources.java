package dev.loraxj.service;

import dev.loraxj.adapter.AdapterSource;
import dev.loraxj.adapter.LocalAdapterSource;
import dev.loraxj.config.LoraxjConfig;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;

import java.nio.file.Path;
import java.util.List;

/** Produces the sources that are plain classes; the others are beans of their own. */
@ApplicationScoped
public class AdapterSources {

    @Produces
    @ApplicationScoped
    AdapterSource local(LoraxjConfig config) {
        return new LocalAdapterSource(config.adapters().localRoots().orElse(List.of()).stream().map(Path::of).toList());
    }
}
