package org.serverstarter.spring.boot;

import org.serverstarter.adapters.ServerStarter;
import org.springframework.boot.autoconfigure.condition.ConditionOutcome;
import org.springframework.boot.autoconfigure.condition.SpringBootCondition;
import org.springframework.context.annotation.ConditionContext;
import org.springframework.core.type.AnnotatedTypeMetadata;

/**
 * Matches when a superdaemon passed sockets down. Read from the process environment, as the adapters read it, not
 * from Spring's: a property of that name in application.properties must not make an app give up its own port.
 */
final class OnServerStarter extends SpringBootCondition {
    @Override
    public ConditionOutcome getMatchOutcome(ConditionContext context, AnnotatedTypeMetadata metadata) {
        return ServerStarter.fromEnvironment().isPresent()
                ? ConditionOutcome.match("SERVER_STARTER_PORT is set")
                : ConditionOutcome.noMatch("SERVER_STARTER_PORT is not set: the server binds server.port");
    }
}
