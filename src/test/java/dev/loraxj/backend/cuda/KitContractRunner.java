package dev.loraxj.backend.cuda;

import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

import java.io.PrintWriter;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

/**
 * The device kit's contract run: the real JUnit suites (no port) through the JUnit Platform launcher
 * from a plain main, since the device has no Maven. Prints every failure with its message and a
 * summary; exits 0 only when tests ran and none failed or aborted (a skipped suite is a failure here).
 * Arguments: the test classes, e.g. {@code dev.loraxj.backend.cuda.CudaBackendContractTest}.
 */
public final class KitContractRunner {

    private KitContractRunner() {
    }

    public static void main(String[] args) throws ClassNotFoundException {
        LauncherDiscoveryRequestBuilder request = LauncherDiscoveryRequestBuilder.request();
        for (String name : args) {
            request.selectors(selectClass(Class.forName(name)));
        }
        LauncherDiscoveryRequest built = request.build();
        Launcher launcher = LauncherFactory.create();
        SummaryGeneratingListener summary = new SummaryGeneratingListener();
        launcher.execute(built, summary);
        TestExecutionSummary s = summary.getSummary();
        PrintWriter out = new PrintWriter(System.out, true);
        s.getFailures().forEach(f -> out.println("FAILED " + f.getTestIdentifier().getDisplayName() + " ["
                + f.getTestIdentifier().getUniqueId() + "]: " + f.getException()));
        out.printf("contract %s: %d tests, %d passed, %d failed, %d aborted, %d skipped, in %.1f s%n", String.join(" ", args),
                s.getTestsFoundCount(), s.getTestsSucceededCount(), s.getTestsFailedCount() + s.getContainersFailedCount(),
                s.getTestsAbortedCount() + s.getContainersAbortedCount(), s.getTestsSkippedCount(),
                (s.getTimeFinished() - s.getTimeStarted()) / 1000.0);
        boolean ok = s.getTestsSucceededCount() > 0 && s.getTotalFailureCount() == 0 && s.getTestsAbortedCount() == 0
                && s.getContainersAbortedCount() == 0;
        System.exit(ok ? 0 : 1);
    }
}
