package com.example.outside;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/** An app that knows nothing of start_server: its one answer names its process, so a test can tell generations apart. */
@SpringBootApplication
@RestController
public class OutsideApp {
    private static final String ANSWER = "outside app pid=" + ProcessHandle.current().pid() + "\n";

    public static void main(String[] args) {
        SpringApplication.run(OutsideApp.class, args);
    }

    @GetMapping("/")
    String hello() {
        return ANSWER;
    }
}
