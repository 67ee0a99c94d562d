#!/usr/bin/env node
// Smoke test of the local broker with the project's client (kafkajs), the evidence behind
// docs/adr/0002-kafka-broker-version.md. Needs a running broker (infra/kafka/start.sh).
//
//   node infra/kafka/smoke.cjs                 # admin + idempotent produce + group consume/commit
//   node infra/kafka/smoke.cjs --kill-restart  # ... then kill.sh (SIGKILL) + start.sh, re-read all
//
// env: KAFKA_BROKERS (127.0.0.1:9092), SMOKE_MESSAGES (1000). Uses its own topic and deletes
// it at the end (not after a failure, to leave evidence). Exit 0 = everything held.
'use strict';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const { Kafka, logLevel } = require('kafkajs');

const brokers = (process.env.KAFKA_BROKERS || '127.0.0.1:9092').split(',');
const N = Number(process.env.SMOKE_MESSAGES || 1000);
const killRestart = process.argv.includes('--kill-restart');
const topic = `smoke-${Date.now()}`;
const kafka = new Kafka({
  clientId: 'admit-kafka-smoke',
  brokers,
  logLevel: logLevel.WARN,
});
const t0 = Date.now();
const say = (m) => console.log(`[smoke +${((Date.now() - t0) / 1000).toFixed(1)}s] ${m}`);
const sum = (parts) => parts.reduce((s, p) => s + Number(p.offset), 0);

function assert(cond, msg) {
  if (!cond) throw new Error(`assertion failed: ${msg}`);
}

async function consumeAll(admin, groupId) {
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10000, heartbeatInterval: 1000 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen = new Set();
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`consumed only ${seen.size}/${N} within 60 s`)), 60000);
    consumer
      .run({
        autoCommit: false,
        eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
          for (const m of batch.messages) {
            seen.add(m.value.toString());
            resolveOffset(m.offset);
          }
          await consumer.commitOffsets([
            { topic, partition: batch.partition, offset: String(Number(batch.lastOffset()) + 1) },
          ]);
          await heartbeat();
          if (seen.size >= N) {
            clearTimeout(timer);
            resolve();
          }
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  for (let i = 0; i < N; i++) assert(seen.has(`msg-${i}`), `msg-${i} consumed`);
  const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
  assert(sum(committed[0].partitions) === N, `group ${groupId} committed ${N}`);
  say(`consumer group ${groupId}: all ${N} messages read, offsets committed (fetchOffsets sum ${N})`);
}

async function main() {
  let admin = kafka.admin();
  await admin.connect();
  const cluster = await admin.describeCluster();
  assert(cluster.brokers.length === 1, 'one broker');
  say(`describeCluster: cluster ${cluster.clusterId}, controller ${cluster.controller}`);

  assert(await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true }), 'topic created');
  say(`createTopics ${topic} (3 partitions)`);

  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  for (let i = 0; i < N; i += 100) {
    const messages = [];
    for (let j = i; j < Math.min(N, i + 100); j++) messages.push({ key: `k${j % 17}`, value: `msg-${j}` });
    await producer.send({ topic, messages }); // acks=-1 (all) is the kafkajs default
  }
  await producer.disconnect();
  const offsets = await admin.fetchTopicOffsets(topic);
  assert(sum(offsets) === N, `fetchTopicOffsets sum ${sum(offsets)} === ${N}`);
  say(`idempotent producer (maxInFlightRequests 1, acks all): ${N} sent; fetchTopicOffsets sum ${N}`);

  await consumeAll(admin, `${topic}-g1`);

  if (killRestart) {
    await admin.disconnect();
    const dir = __dirname;
    execFileSync('bash', [path.join(dir, 'kill.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
    say('broker SIGKILLed (kill.sh)');
    execFileSync('bash', [path.join(dir, 'start.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
    say('broker restarted on the same data dir (start.sh)');
    // a fresh admin: reconnecting a disconnected kafkajs client whose sockets died with the
    // broker can fail with "write after end" (tulios/kafkajs#1617, #928)
    admin = kafka.admin();
    await admin.connect();
    const after = await admin.fetchTopicOffsets(topic);
    assert(sum(after) === N, `after restart fetchTopicOffsets sum ${sum(after)} === ${N}`);
    const g1 = await admin.fetchOffsets({ groupId: `${topic}-g1`, topics: [topic] });
    assert(sum(g1[0].partitions) === N, 'committed offsets survived the restart');
    say(`after restart: ${N} records and group offsets intact`);
    await consumeAll(admin, `${topic}-g2`);
  }

  await admin.deleteTopics({ topics: [topic] });
  await admin.deleteGroups([`${topic}-g1`, ...(killRestart ? [`${topic}-g2`] : [])]);
  await admin.disconnect();
  say('OK');
}

main().catch((e) => {
  console.error(`[smoke] FAILED: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});
