package dev.loraxj.k8s;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.KubernetesResource;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;

import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/** The k8s/ manifests as fabric8 model objects, rendered and parsed strictly (unknown fields fail). */
final class Manifests {

    static final Path ROOT = Path.of("k8s");
    static final List<String> KUSTOMIZATIONS = List.of("base", "overlays/cpu", "overlays/gpu");
    static final List<String> OVERLAYS = List.of("overlays/cpu", "overlays/gpu");
    static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

    private Manifests() {
    }

    /** The resources a kustomization renders to, e.g. {@code render("overlays/gpu")}. */
    static List<HasMetadata> render(String kustomization) {
        Path dir = ROOT.resolve(kustomization);
        if (!Files.isRegularFile(dir.resolve("kustomization.yaml"))) {
            fail("no kustomization at " + dir.toAbsolutePath() + " (tests run from the repository root)");
        }
        return Kustomize.render(dir).stream().map(n -> parse(n.toString(), kustomization + ": " + Kustomize.id(n))).toList();
    }

    /** One resource document as its model class; fails on an unknown kind or an unknown field anywhere. */
    static HasMetadata parse(String document, String where) {
        KubernetesResource r = SERIALIZATION.unmarshal(document);
        if (!(r instanceof HasMetadata h) || r instanceof GenericKubernetesResource) {
            throw new AssertionError(where + ": not a kind the Kubernetes model knows: " + (r == null ? null : r.getClass().getName()));
        }
        List<String> unknown = new ArrayList<>();
        unknownFields(r, h.getKind(), unknown);
        if (!unknown.isEmpty()) {
            throw new AssertionError(where + ": fields the Kubernetes API does not have: " + unknown);
        }
        return h;
    }

    /** Every YAML file under k8s/. */
    static List<Path> files() {
        try (Stream<Path> s = Files.walk(ROOT)) {
            return s.filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml")).sorted().toList();
        } catch (IOException e) {
            throw new AssertionError("cannot list " + ROOT.toAbsolutePath(), e);
        }
    }

    static <T extends HasMetadata> T one(List<HasMetadata> resources, Class<T> kind) {
        List<T> found = all(resources, kind);
        assertEquals(1, found.size(), "resources of kind " + kind.getSimpleName());
        return found.getFirst();
    }

    static <T extends HasMetadata> List<T> all(List<HasMetadata> resources, Class<T> kind) {
        return resources.stream().filter(kind::isInstance).map(kind::cast).toList();
    }

    static <T extends HasMetadata> T named(List<HasMetadata> resources, Class<T> kind, String name) {
        return all(resources, kind).stream().filter(r -> r.getMetadata().getName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no " + kind.getSimpleName() + " named " + name));
    }

    static Deployment deployment(String kustomization) {
        return one(render(kustomization), Deployment.class);
    }

    /** The server's container (the only one). */
    static Container container(Deployment d) {
        List<Container> containers = d.getSpec().getTemplate().getSpec().getContainers();
        assertEquals(1, containers.size(), "containers in the pod");
        return containers.getFirst();
    }

    static ConfigMap configMap(List<HasMetadata> resources, String name) {
        return named(resources, ConfigMap.class, name);
    }

    /** fabric8 keeps fields it does not know in additionalProperties: any entry there is a typo or a wrong level. */
    private static void unknownFields(Object node, String path, List<String> out) {
        switch (node) {
            case null -> {
            }
            case Map<?, ?> m -> m.forEach((k, v) -> unknownFields(v, path + "." + k, out));
            case Collection<?> c -> {
                int i = 0;
                for (Object v : c) {
                    unknownFields(v, path + "[" + i++ + "]", out);
                }
            }
            default -> {
                if (!node.getClass().getName().startsWith("io.fabric8.")) {
                    return;
                }
                for (Method m : node.getClass().getMethods()) {
                    if (m.getParameterCount() != 0 || Modifier.isStatic(m.getModifiers()) || !m.getName().startsWith("get")) {
                        continue;
                    }
                    Class<?> type = m.getReturnType();
                    boolean model = type.getName().startsWith("io.fabric8.") && !type.isEnum();
                    if (!model && !Map.class.isAssignableFrom(type) && !Collection.class.isAssignableFrom(type)) {
                        continue;
                    }
                    Object value = invoke(m, node);
                    if (m.getName().equals("getAdditionalProperties")) {
                        if (value instanceof Map<?, ?> extra && !extra.isEmpty()) {
                            out.add(path + " " + extra.keySet());
                        }
                    } else {
                        unknownFields(value, path + "." + Character.toLowerCase(m.getName().charAt(3)) + m.getName().substring(4), out);
                    }
                }
            }
        }
    }

    private static Object invoke(Method m, Object target) {
        try {
            return m.invoke(target);
        } catch (IllegalAccessException | InvocationTargetException e) {
            throw new AssertionError("cannot read " + m, e);
        }
    }
}
