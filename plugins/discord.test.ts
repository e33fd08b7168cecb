/**
 * The sink contract on the Discord plugin, as a plugin author runs it: the kit from
 * firecrawl-relay/testing, a local HTTP server standing in for Discord.
 */
import { httpDestination, sinkContract } from 'firecrawl-relay/testing';
import discord from './discord.js';

sinkContract({
  name: 'discord',
  sink: discord,
  destination: () =>
    httpDestination({
      options: (url) => ({ url }),
      // What Discord received, as `<job id>:<error text>`: the embed's title ends with the job id.
      eventOf: (body) => {
        const embed = (JSON.parse(body) as { embeds: Array<{ title: string; description: string }> }).embeds[0]!;
        return `${/job (\S+)$/.exec(embed.title)?.[1] ?? '?'}:${embed.description}`;
      },
    }),
});
