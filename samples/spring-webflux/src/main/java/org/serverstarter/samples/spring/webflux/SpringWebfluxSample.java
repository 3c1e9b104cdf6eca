package org.serverstarter.samples.spring.webflux;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.ApplicationRunner;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.ApplicationListener;
import org.springframework.context.annotation.Bean;
import org.springframework.context.event.ContextClosedEvent;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.RouterFunctions;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.publisher.Mono;

/**
 * An ordinary Spring WebFlux app on Reactor Netty, the reactive twin of samples/spring-app's MVC one: nothing in it
 * knows about start_server. {@code /} names the generation and pid, {@code /sleep?ms=N} answers after N ms (at most
 * 30 s) without holding an event loop; every answer carries {@code X-Generation}. {@code /counted} answers as
 * {@code /} does and counts, {@code /count} tells how many, and the app prints the count when it stops: tests point the
 * starter's warm-up at it to see which generation served it. {@code WARM_UP_MS} makes a runner take that long before
 * the app counts as ready.
 */
@SpringBootApplication
public class SpringWebfluxSample {
    private static final long MAX_SLEEP_MS = 30_000;

    private final AtomicLong counted = new AtomicLong();

    public static void main(String[] args) {
        SpringApplication.run(SpringWebfluxSample.class, args);
    }

    @Bean
    RouterFunction<ServerResponse> routes(@Value("${SERVER_STARTER_GENERATION:0}") String generation) {
        return RouterFunctions.route()
                .GET("/", request -> answer(generation))
                .GET("/counted", request -> {
                    counted.incrementAndGet();
                    return answer(generation);
                })
                .GET("/count", request -> ServerResponse.ok().header("X-Generation", generation)
                        .bodyValue(counted.get() + "\n"))
                .GET("/sleep", request -> {
                    long ms = Math.max(0, Math.min(Long.parseLong(request.queryParam("ms").orElse("0")), MAX_SLEEP_MS));
                    return Mono.delay(Duration.ofMillis(ms)).then(answer(generation));
                })
                .build();
    }

    @Bean
    ApplicationListener<ContextClosedEvent> printCount(@Value("${SERVER_STARTER_GENERATION:0}") String generation) {
        return event -> System.out.println("spring sample: generation " + generation + " served " + counted.get()
                + " /counted");
    }

    private static Mono<ServerResponse> answer(String generation) {
        return ServerResponse.ok().header("X-Generation", generation)
                .bodyValue("gen=" + generation + " pid=" + ProcessHandle.current().pid() + "\n");
    }

    /** A warm-up the app does before it takes traffic: READY=1 waits for it. */
    @Bean
    ApplicationRunner warmUp(@Value("${WARM_UP_MS:0}") long millis,
            @Value("${SERVER_STARTER_GENERATION:0}") String generation) {
        return args -> {
            if (millis > 0) {
                Thread.sleep(millis);
                System.out.println("spring sample: warmed up, generation " + generation);
            }
        };
    }
}
