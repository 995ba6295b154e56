package graphsvc.neo4j;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.concurrent.CountDownLatch;

import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.harness.Neo4j;
import org.neo4j.harness.Neo4jBuilder;
import org.neo4j.harness.Neo4jBuilders;

/**
 * A throw-away Neo4j for graphsvc's tests and benchmarks: Bolt on 127.0.0.1, no HTTP,
 * an empty database under a directory of the caller's choosing, and the Graph Data
 * Science procedures registered from the jars on the class path.
 *
 * <p>Arguments: {@code DIRECTORY [PORT]}. Port 0 (the default) picks a free one. Once
 * the server answers, its Bolt URI is printed on one line and written to
 * {@code DIRECTORY/uri}; the process then runs until it is sent SIGTERM or SIGINT,
 * and closes the database on the way out.
 */
public final class Server {
    private Server() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 1 || args.length > 2) {
            System.err.println("usage: Server DIRECTORY [PORT]");
            System.exit(2);
        }
        Path directory = Path.of(args[0]).toAbsolutePath();
        int port = args.length == 2 ? Integer.parseInt(args[1]) : 0;
        Files.createDirectories(directory);

        Neo4jBuilder builder = Neo4jBuilders.newInProcessBuilder(directory)
                .withDisabledServer()
                .withConfig(BoltConnector.enabled, true)
                .withConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port))
                .withConfig(GraphDatabaseSettings.procedure_unrestricted, List.of("gds.*"));
        for (Class<?> procedures : declared("org.neo4j.procedure.Procedure")) {
            builder = builder.withProcedure(procedures);
        }
        for (Class<?> functions : declared("org.neo4j.procedure.UserFunction")) {
            builder = builder.withFunction(functions);
        }
        Neo4j neo4j = builder.build();

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            neo4j.close();
            stopped.countDown();
        }));
        String uri = neo4j.boltURI().toString();
        Files.writeString(directory.resolve("uri"), uri + "\n", StandardCharsets.UTF_8);
        System.out.println(uri);
        System.out.flush();
        stopped.await();
    }

    /** The classes listed under {@code META-INF/services/<kind>} in every jar on the class path. */
    private static List<Class<?>> declared(String kind) throws IOException, ClassNotFoundException {
        ClassLoader loader = Server.class.getClassLoader();
        List<Class<?>> classes = new ArrayList<>();
        Enumeration<URL> lists = loader.getResources("META-INF/services/" + kind);
        while (lists.hasMoreElements()) {
            try (BufferedReader reader = new BufferedReader(
                    new InputStreamReader(lists.nextElement().openStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = reader.readLine()) != null) {
                    String name = line.strip();
                    if (!name.isEmpty() && !name.startsWith("#")) {
                        classes.add(Class.forName(name, false, loader));
                    }
                }
            }
        }
        return classes;
    }
}
