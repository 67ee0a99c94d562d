#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { createKafka } from '../kafka';
import { createLogger } from '../logger';
import { replayDeadLetters } from '../dlq-replay';

/**
 * `node dist/libs/messaging/src/cli/replay-dlq.js --topic payments.dlq [--group ticketing] [--dry-run]`
 * Brokers from KAFKA_BROKERS (default 127.0.0.1:9092).
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      topic: { type: 'string' },
      group: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      'idle-timeout-ms': { type: 'string', default: '10000' },
    },
  });
  if (!values.topic) {
    process.stderr.write('usage: replay-dlq --topic <name>.dlq [--group <consumer group>] [--dry-run]\n');
    process.exit(2);
  }
  const logger = createLogger('dlq-replay');
  const kafka = createKafka(
    { brokers: (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(','), clientId: 'admit-dlq-replay' },
    logger,
  );
  const result = await replayDeadLetters({
    kafka,
    logger,
    dlqTopic: values.topic,
    ...(values.group ? { consumerGroup: values.group } : {}),
    dryRun: values['dry-run'] ?? false,
    idleTimeoutMs: Number(values['idle-timeout-ms']),
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
