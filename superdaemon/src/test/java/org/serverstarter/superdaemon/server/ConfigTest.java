package org.serverstarter.superdaemon.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.serverstarter.superdaemon.cli.CommandLine;
import org.serverstarter.superdaemon.cli.Options;
import org.serverstarter.superdaemon.posix.Posix;

/**
 * Every value an option cannot take, with the one line and the exit status it gets (the README's "Exit statuses"),
 * and the defaults of those left out. Getopt-level errors (unknown options, missing values, exit 1) are
 * CommandLineTest's.
 */
class ConfigTest {
    private static final String PID = Long.toString(ProcessHandle.current().pid());

    private static Config resolve(Map<String, String> inherited, String... args) throws Exception {
        Options options = CommandLine.parse(args);
        Map<String, String> env = new HashMap<>(inherited);
        env.putIfAbsent("PATH", "/usr/bin:/bin");
        return Config.resolve(options, env, new Environment(env, options));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '"', textBlock = """
        --port=abc -- true                          | 255 | invalid ``port'' value:abc
        --port=127.0.0.1:70000 -- true              | 255 | invalid ``port'' value:127.0.0.1:70000
        --port=8080=5 --port=8081=5 -- true         | 255 | more than one socket requests file descriptor 5
        --path-mode=rw --path=/tmp/x.sock -- true   | 255 | invalid --path-mode value:rw (an octal mode from 0 to 0777, such as 0660)
        --path-mode=01777 -- true                   | 255 | invalid --path-mode value:01777 (an octal mode from 0 to 0777, such as 0660)
        --dir=/nonexistent -- true                  | 2   | failed to chdir:/nonexistent:No such file or directory
        --dir=/etc/hostname -- true                 | 20  | failed to chdir:/etc/hostname:Not a directory
        --envdir=/nonexistent -- true               | 2   | envdir is not a directory:/nonexistent:No such file or directory
        --envdir=/etc/hostname -- true              | 20  | envdir is not a directory:/etc/hostname:Not a directory
        --signal-on-hup=FOO -- true                 | 255 | "Unrecognized signal name ""FOO"" (--signal-on-hup)"
        --signal-on-term=sigbogus -- true           | 255 | "Unrecognized signal name ""BOGUS"" (--signal-on-term)"
        --signal-on-hup=STOP -- true                | 255 | signal STOP cannot stop a worker (--signal-on-hup)
        --signal-on-term=00 -- true                 | 255 | signal 00 cannot stop a worker (--signal-on-term)
        --signal-on-term=21 -- true                 | 255 | signal 21 cannot stop a worker (--signal-on-term)
        --interval=-1 -- true                       | 255 | invalid --interval value:-1 (0 or more seconds)
        --auto-restart-interval=-1 -- true          | 255 | invalid --auto-restart-interval value:-1 (0 or more seconds)
        --kill-old-delay=-1 -- true                 | 255 | invalid --kill-old-delay value:-1 (0 or more seconds)
        --ready-timeout=-1 -- true                  | 255 | invalid --ready-timeout value:-1 (0 or more seconds)
        --kill-timeout=-1 -- true                   | 255 | invalid --kill-timeout value:-1 (0 or more seconds)
        --max-backoff=-1 -- true                    | 255 | invalid --max-backoff value:-1 (0 or more seconds)
        --timeout=-1 -- true                        | 255 | invalid --timeout value:-1 (0 or more seconds)
        --readiness=sometimes -- true               | 255 | invalid --readiness value:sometimes (interval or notify)
        --new-worker-nice=20 -- true                | 255 | invalid --new-worker-nice value:20 (0 to 19)
        --new-worker-nice=-1 -- true                | 255 | invalid --new-worker-nice value:-1 (0 to 19)
        --daemonize -- true                         | 255 | Usage: --log-file option must be specified together with --daemonize
        --metrics=abc -- true                       | 255 | invalid --metrics value:abc (HOST:PORT, such as 127.0.0.1:9100)
        --metrics=127.0.0.1:70000 -- true           | 255 | invalid --metrics value:127.0.0.1:70000 (HOST:PORT, such as 127.0.0.1:9100)
        --metrics=127.0.0.1: -- true                | 255 | invalid --metrics value:127.0.0.1: (HOST:PORT, such as 127.0.0.1:9100)
        --metrics=[::1:9100 -- true                 | 255 | invalid --metrics value:[::1:9100 (HOST:PORT, such as 127.0.0.1:9100)
        --metrics=no-such-host.invalid:9100 -- true | 255 | invalid --metrics value:no-such-host.invalid:9100 (unknown host no-such-host.invalid)
        --status --format=yaml --pid-file=p         | 255 | invalid --format value:yaml (json or text)
        --format=text --pid-file=p -- true          | 255 | --format is an option of --status
        --port=8080                                 | 255 | server program not specified
        -- /nonexistent/server                      | 2   | failed to exec /nonexistent/server:No such file or directory
        -- no-such-program-anywhere                 | 2   | failed to exec no-such-program-anywhere:No such file or directory
        """)
    void aBadValueIsOneLineAndItsStatus(String args, int status, String line) {
        Fatal e = assertThrows(Fatal.class, () -> resolve(Map.of(), args.split(" ")));
        assertEquals(line, e.getMessage());
        assertEquals(status, e.exitStatus());
    }

    @Test
    void systemdsSocketsExcludePortsAndPathsAndAreBounded() {
        Fatal both = assertThrows(Fatal.class, () -> resolve(Map.of("LISTEN_FDS", "1", "LISTEN_PID", PID),
                "--port=8080", "--", "true"));
        assertEquals("--port and --path cannot be used when systemd passes the sockets (LISTEN_FDS=1)",
                both.getMessage());
        for (String value : List.of("abc", "-1", "100000000", "4097")) {
            Fatal bad = assertThrows(Fatal.class, () -> resolve(Map.of("LISTEN_FDS", value, "LISTEN_PID", PID),
                    "--", "true"));
            assertEquals("invalid LISTEN_FDS value:" + value, bad.getMessage());
            assertEquals(255, bad.exitStatus());
        }
    }

    @Test
    void whatIsLeftOutGetsItsDefault() throws Exception {
        Config config = resolve(Map.of(), "--port=8080", "--path=/tmp/x.sock", "--", "true", "arg");
        assertEquals(1, config.interval());
        assertEquals(Posix.SOMAXCONN, config.backlog());
        assertEquals(0777, config.pathMode());
        assertEquals("TERM", config.signalOnHup());
        assertEquals("TERM", config.signalOnTerm());
        assertEquals(0, config.readyTimeout(), "judged by --interval, as in Perl");
        assertEquals(0, config.killTimeout());
        assertEquals(0, config.maxBackoff());
        assertEquals(0, config.newWorkerNice());
        assertEquals("/usr/bin/true", config.program());
        assertEquals(List.of("true", "arg"), config.argv());

        Config notify = resolve(Map.of(), "--readiness=notify", "--signal-on-hup=0", "--interval=99999999999999999999",
                "--path-mode=660", "--", "true");
        assertEquals(60, notify.readyTimeout());
        assertEquals("TERM", notify.signalOnHup(), "0 means the default, as Perl's ||=");
        assertEquals(100L * 365 * 24 * 3600, notify.interval(), "held at 100 years");
        assertEquals(0660, notify.pathMode());
        assertEquals(null, notify.metrics(), "no metrics unless asked for");

        assertEquals(new InetSocketAddress("127.0.0.1", 9100), resolve(Map.of(), "--metrics=9100", "--", "true")
                .metrics(), "a bare port is loopback");
        assertEquals(new InetSocketAddress("::1", 0), resolve(Map.of(), "--metrics=[::1]:0", "--", "true").metrics());
        assertEquals(new InetSocketAddress("0.0.0.0", 9100), resolve(Map.of(), "--metrics=0.0.0.0:9100", "--",
                "true").metrics());
    }
}
