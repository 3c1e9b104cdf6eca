package org.serverstarter.testkit;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Command lines for worker JVMs: the test classpath, the flag the adapters need, and cheap start-up settings. */
public final class ChildJava {
    /** The JVM flag that {@code InheritedSocket.openServerChannel()} needs. */
    public static final String ADD_OPENS = "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED";

    private static final Path TEMURIN_25 = Path.of("/usr/lib/jvm/temurin-25-jdk-amd64");

    private ChildJava() {}

    /** argv running {@code mainClass} on the JDK that runs the tests. */
    public static List<String> command(Class<?> mainClass, String... args) {
        return command(Path.of(System.getProperty("java.home")), mainClass, args);
    }

    /** argv running {@code mainClass} on the JDK at {@code javaHome}. */
    public static List<String> command(Path javaHome, Class<?> mainClass, String... args) {
        List<String> argv = new ArrayList<>();
        argv.add(javaHome.resolve("bin/java").toString());
        // The machine is shared and small: workers start faster and lighter with C1 only and the serial collector.
        argv.add("-XX:TieredStopAtLevel=1");
        argv.add("-XX:+UseSerialGC");
        argv.add("-Xss512k");
        argv.add(ADD_OPENS);
        argv.add("-cp");
        argv.add(System.getProperty("java.class.path"));
        argv.add(mainClass.getName());
        argv.addAll(List.of(args));
        return argv;
    }

    /**
     * JDK homes to run workers on: the running one, plus Temurin 25 when installed, unless the system property
     * {@code testkit.runningJdkOnly} is true.
     */
    public static List<Path> jdks() {
        List<Path> homes = new ArrayList<>();
        homes.add(Path.of(System.getProperty("java.home")));
        if (!Boolean.getBoolean("testkit.runningJdkOnly") && Files.isExecutable(TEMURIN_25.resolve("bin/java"))) {
            homes.add(TEMURIN_25);
        }
        return homes;
    }
}
