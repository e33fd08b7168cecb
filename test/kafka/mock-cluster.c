/*
 * A librdkafka mock Kafka cluster for the tests, driven on stdin:
 *   down ID | up ID            broker ID (or -1 for all) refuses / accepts connections
 *   topic NAME PARTITIONS      creates a topic
 *   errors APIKEY COUNT CODE   the next COUNT requests of APIKEY fail with CODE
 *   rtt ID MS                  delays broker ID's answers
 * Prints the bootstrap servers on the first line, "ok" after each command, and shuts
 * down when stdin closes (so it dies with the test process that started it).
 * Built by the test setup: gcc mock-cluster.c -lrdkafka (Debian: librdkafka-dev).
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  int brokers = argc > 1 ? atoi(argv[1]) : 3;
  char errstr[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "0", errstr, sizeof errstr);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (!rk) {
    fprintf(stderr, "rd_kafka_new: %s\n", errstr);
    return 1;
  }
  rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
  if (!mc) {
    fprintf(stderr, "rd_kafka_mock_cluster_new failed\n");
    return 1;
  }
  printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
  fflush(stdout);

  char line[1024], name[256];
  int a, b, c;
  while (fgets(line, sizeof line, stdin)) {
    int ok = 1;
    if (sscanf(line, "down %d", &a) == 1) rd_kafka_mock_broker_set_down(mc, a);
    else if (sscanf(line, "up %d", &a) == 1) rd_kafka_mock_broker_set_up(mc, a);
    else if (sscanf(line, "topic %255s %d", name, &a) == 2) ok = !rd_kafka_mock_topic_create(mc, name, a, 1);
    else if (sscanf(line, "rtt %d %d", &a, &b) == 2) rd_kafka_mock_broker_set_rtt(mc, a, b);
    else if (sscanf(line, "errors %d %d %d", &a, &b, &c) == 3 && b > 0 && b <= 1024) {
      rd_kafka_resp_err_t errs[1024];
      for (int i = 0; i < b; i++) errs[i] = (rd_kafka_resp_err_t)c;
      rd_kafka_mock_push_request_errors_array(mc, (int16_t)a, (size_t)b, errs);
    } else ok = 0;
    printf(ok ? "ok\n" : "error\n");
    fflush(stdout);
  }
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return 0;
}
