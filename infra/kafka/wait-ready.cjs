#!/usr/bin/env node
// Readiness probe for infra/kafka/start.sh: a real kafkajs admin round trip.
//   node infra/kafka/wait-ready.cjs --brokers 127.0.0.1:9092 [--timeout 60] [--pid N] [--cluster-id ID]
// Retries until, within one deadline:
//   1. admin.connect() + describeCluster() answer (the expected cluster id, >= 1 broker);
//   2. the group coordinator answers (admin.describeGroups on a dummy group id: the broker
//      creates __consumer_offsets on the first FindCoordinator, also with
//      auto.create.topics.enable=false);
//   3. an idempotent producer can connect (InitProducerId; the first one makes the broker
//      fetch a producer-id block from the controller).
// Steps 2 and 3 take the first-use latency and kafkajs' retriable-error noise
// ("group coordinator is not available", "coordinator is loading") out of the tests.
// It creates and deletes no user topic, commits no offsets, produces no record.
// Exit 0 ready, 1 timeout, 2 broker process exited, 3 a different cluster answers on the port,
// 4 kafkajs cannot be loaded (start.sh then falls back to a TCP probe).
'use strict';

let Kafka, logLevel;
try {
  ({ Kafka, logLevel } = require('kafkajs'));
} catch (e) {
  process.stderr.write(`[kafka] kafkajs not loadable (${e.code || e.message})\n`);
  process.exit(4);
}

function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
}

const brokers = arg('brokers', process.env.KAFKA_BROKERS || '127.0.0.1:9092').split(',');
const timeoutMs = Number(arg('timeout', '60')) * 1000;
const pid = arg('pid') ? Number(arg('pid')) : undefined;
const expectedClusterId = arg('cluster-id');
const log = (m) => process.stderr.write(`[kafka] ${m}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function processAlive(p) {
  try {
    process.kill(p, 0);
  } catch (e) {
    if (e.code !== 'EPERM') return false;
  }
  try {
    // a zombie still answers kill(0); field 3 of /proc/<pid>/stat is the state
    const stat = require('node:fs').readFileSync(`/proc/${p}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX]/s.test(stat);
  } catch {
    return true; // no procfs: trust kill(0)
  }
}

async function main() {
  const started = Date.now();
  const kafka = new Kafka({
    clientId: 'admit-kafka-wait-ready',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    requestTimeout: 5000,
    retry: { retries: 0 },
  });
  let lastError = 'no attempt';
  let step = 'connect';
  let cluster;
  while (Date.now() - started < timeoutMs) {
    if (pid !== undefined && !processAlive(pid)) {
      log(`broker process ${pid} exited before it became ready`);
      return 2;
    }
    const admin = kafka.admin();
    // kafkajs refuses an idempotent producer without retries
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 500 },
    });
    try {
      step = 'describeCluster';
      await admin.connect();
      // every attempt starts here: it also loads the metadata describeGroups needs
      const c = await admin.describeCluster();
      if (expectedClusterId && c.clusterId !== expectedClusterId) {
        log(`${brokers} answers with cluster id ${c.clusterId}, expected ${expectedClusterId}`);
        return 3;
      }
      if (c.brokers.length === 0) throw new Error('no brokers in metadata yet');
      cluster = c;
      step = 'groupCoordinator';
      await admin.describeGroups(['__admit-kafka-wait-ready']);
      step = 'initProducerId';
      await producer.connect();
      log(
        `ready after ${((Date.now() - started) / 1000).toFixed(1)}s: ` +
          `cluster ${cluster.clusterId}, brokers ${cluster.brokers.map((b) => `${b.nodeId}@${b.host}:${b.port}`).join(',')}, ` +
          `controller ${cluster.controller}; group coordinator and InitProducerId ok`,
      );
      return 0;
    } catch (e) {
      lastError = `${step}: ${e && e.message ? e.message : String(e)}`;
    } finally {
      await producer.disconnect().catch(() => {});
      await admin.disconnect().catch(() => {});
    }
    await sleep(250);
  }
  log(`not ready after ${timeoutMs / 1000}s: ${lastError}`);
  return 1;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    log(`wait-ready crashed: ${e && e.stack ? e.stack : e}`);
    process.exit(1);
  },
);
