package org.serverstarter.samples.spring;

import java.util.concurrent.atomic.AtomicLong;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.ApplicationRunner;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.annotation.Bean;
import org.springframework.context.event.ContextClosedEvent;
import org.springframework.context.event.EventListener;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/**
 * An ordinary Spring MVC app, built once per server (samples/spring-mvc on Tomcat, samples/spring-jetty on Jetty):
 * nothing in it knows about start_server; the starter on the classpath does the rest. {@code /} names the generation
 * and pid, {@code /sleep?ms=N} answers after N ms (at most 30 s); every answer carries {@code X-Generation}.
 * {@code /counted} answers as {@code /} does and counts, {@code /count} tells how many, and the app prints the count
 * when it stops: tests point the starter's warm-up at it to see which generation served it. {@code WARM_UP_MS} makes a
 * runner take that long before the app counts as ready.
 */
@SpringBootApplication
@RestController
public class SpringSample {
    private static final long MAX_SLEEP_MS = 30_000;

    private final String generation;
    private final AtomicLong counted = new AtomicLong();

    SpringSample(@Value("${SERVER_STARTER_GENERATION:0}") String generation) {
        this.generation = generation;
    }

    public static void main(String[] args) {
        SpringApplication.run(SpringSample.class, args);
    }

    @GetMapping("/")
    ResponseEntity<String> hello() {
        return answer();
    }

    @GetMapping("/sleep")
    ResponseEntity<String> sleep(@RequestParam long ms) throws InterruptedException {
        Thread.sleep(Math.max(0, Math.min(ms, MAX_SLEEP_MS)));
        return answer();
    }

    @GetMapping("/counted")
    ResponseEntity<String> counted() {
        counted.incrementAndGet();
        return answer();
    }

    @GetMapping("/count")
    ResponseEntity<String> count() {
        return ResponseEntity.ok().header("X-Generation", generation).body(counted.get() + "\n");
    }

    @EventListener(ContextClosedEvent.class)
    void printCount() {
        System.out.println("spring sample: generation " + generation + " served " + counted.get() + " /counted");
    }

    private ResponseEntity<String> answer() {
        return ResponseEntity.ok().header("X-Generation", generation)
                .body("gen=" + generation + " pid=" + ProcessHandle.current().pid() + "\n");
    }

    /** A warm-up the app does before it takes traffic: READY=1 waits for it. */
    @Bean
    ApplicationRunner warmUp(@Value("${WARM_UP_MS:0}") long millis) {
        return args -> {
            if (millis > 0) {
                Thread.sleep(millis);
                System.out.println("spring sample: warmed up, generation " + generation);
            }
        };
    }
}
