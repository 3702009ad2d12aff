package runtimes

import "strings"

// jvmImages are repositories (last path element) whose images run a JVM.
var jvmImages = []string{
	"openjdk", "eclipse-temurin", "amazoncorretto", "adoptopenjdk", "ibm-semeru-runtimes", "ibmjava",
	"zulu-openjdk", "sapmachine", "microsoft-openjdk", "liberica-openjdk-debian", "liberica-openjdk-alpine",
	"liberica-runtime-container", "java", "java8", "java11", "java17", "java21", "tomcat", "jetty", "maven",
	"gradle", "elasticsearch", "logstash", "kafka", "cp-kafka", "cp-zookeeper", "zookeeper", "cassandra",
	"solr", "keycloak", "sonarqube", "jenkins", "neo4j", "flink", "spark", "trino", "nifi", "activemq",
}

var nodeImages = []string{"node", "nodejs", "nodejs-20", "nodejs-22", "nodejs20-debian12", "nodejs22-debian12"}

var dotnetImages = []string{"aspnet", "runtime", "runtime-deps", "sdk"}

// knownImage says which runtime an image repository runs, from its name.
func knownImage(repo string) Runtime {
	base := imageBase(repo)
	for _, j := range jvmImages {
		if base == j || strings.HasPrefix(base, "java") && strings.Contains(repo, "distroless") {
			return JVM
		}
	}
	if strings.Contains(repo, "dotnet/") {
		for _, d := range dotnetImages {
			if base == d {
				return DotNet
			}
		}
	}
	for _, n := range nodeImages {
		if base == n {
			return Node
		}
	}
	if base == "golang" {
		return Go
	}
	return Unknown
}
