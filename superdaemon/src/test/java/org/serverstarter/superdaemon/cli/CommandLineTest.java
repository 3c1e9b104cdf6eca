package org.serverstarter.superdaemon.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Getopt::Long's behaviour as observed with Perl's start_server; the messages are API for scripts. */
class CommandLineTest {

    @Test
    void bothValueFormsPrefixesCaseAndPermutation() throws Exception {
        Options o = CommandLine.parse("--port=1", "-port", "2", "prog", "--INTE", "3", "--di=/x", "arg", "--", "-c",
                "--port=9");
        assertEquals(List.of("1", "2"), o.ports());
        assertEquals(3L, o.interval());
        assertEquals("/x", o.dir());
        assertEquals(List.of("prog", "arg", "-c", "--port=9"), o.program());
    }

    @Test
    void lastValueWinsAndMandatoryValuesTakeTheNextArgumentWhateverItIs() throws Exception {
        Options o = CommandLine.parse("--interval=2", "--interval=+5", "--port", "--dir=x", "--kill-old-delay", "-1");
        assertEquals(5L, o.interval());
        assertEquals(List.of("--dir=x"), o.ports());
        assertEquals(-1L, o.killOldDelay());
    }

    @Test
    void flags() throws Exception {
        Options o = CommandLine.parse("--daemon", "--vers", "--enable-auto-restart", "--stop");
        assertTrue(o.daemonize() && o.version() && o.enableAutoRestart() && o.stop());
    }

    @Test
    void statusIsOursOnlyInFullWhilePerlsAbbreviationsStayTheStatusFile() throws Exception {
        Options ours = CommandLine.parse("--status", "--pid-file=p", "--format=text");
        assertTrue(ours.status());
        assertEquals("text", ours.format());
        assertEquals(null, ours.statusFile());
        for (String perl : List.of("--status=s", "--stat=s", "--statu=s", "--sta=s")) {
            Options o = CommandLine.parse(perl, "--", "prog");
            assertEquals("s", o.statusFile(), perl);
            assertEquals(false, o.status(), perl);
        }
        assertEquals("s", CommandLine.parse("--stat", "s").statusFile());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "--foo                   | Unknown option: foo",
        "---port=1               | Unknown option: -port",
        "--s                     | Option s is ambiguous (signal-on-hup, signal-on-term, status-file, stop)",
        "--st                    | Option st is ambiguous (status-file, stop)",
        "--enable-auto-restart=1 | Option enable-auto-restart does not take an argument",
        "--help=1                | Option help does not take an argument",
        "--interval=3x           | Value \"3x\" invalid for option interval (number expected)",
        "--backlog=1.5           | Value \"1.5\" invalid for option backlog (number expected)",
        "--port=                 | Option port requires an argument",
        "--port                  | Option port requires an argument",
        "--interval              | Option interval requires an argument",
    })
    void errorsAreGetoptLongsLines(String arg, String message) {
        UsageException e = assertThrows(UsageException.class, () -> CommandLine.parse(arg));
        assertEquals(List.of(message), e.lines());
    }

    @Test
    void everyBadOptionIsReported() {
        UsageException e = assertThrows(UsageException.class, () -> CommandLine.parse("--foo", "--bar"));
        assertEquals(List.of("Unknown option: foo", "Unknown option: bar"), e.lines());
    }

    @Test
    void aNegativeNumberIsAValueNotAnOption() {
        UsageException e = assertThrows(UsageException.class, () -> CommandLine.parse("--interval", "-x"));
        assertEquals(List.of("Value \"-x\" invalid for option interval (number expected)"), e.lines());
    }
}
