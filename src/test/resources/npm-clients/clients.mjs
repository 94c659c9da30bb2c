// Real npm clients against a loraxj server; prints one JSON line per check for NpmClientsIT to assert on.
// Usage: node clients.mjs http://127.0.0.1:PORT
import OpenAI from "openai";
import { InferenceClient } from "@huggingface/inference";
import { ChatOpenAI } from "@langchain/openai";

const base = process.argv[2];
const out = (name, value) => console.log(JSON.stringify({ name, value }));
const PROMPT = "Once upon a time, there was a little girl";
const CHAT = [{ role: "user", content: "Once upon a time, there was a little girl" }];

const openai = new OpenAI({ baseURL: base + "/v1", apiKey: "not-needed" });
const whole = await openai.chat.completions.create({ model: "lora-name-max", messages: CHAT, max_tokens: 12, temperature: 0 });
out("openai.chat", whole.choices[0].message.content);
const stream = await openai.chat.completions.create({ model: "lora-name-max", messages: CHAT, max_tokens: 12, temperature: 0, stream: true });
let streamed = "";
for await (const chunk of stream) {
  streamed += chunk.choices[0]?.delta?.content ?? "";
}
out("openai.chat.stream", streamed);
const completion = await openai.completions.create({ model: "stories260K", prompt: PROMPT, max_tokens: 6, temperature: 0, logprobs: 3 });
out("openai.completions", completion.choices[0].text);
out("openai.completions.logprobs", completion.choices[0].logprobs);
const models = await openai.models.list();
out("openai.models.list", models.data.map((m) => m.id));
out("openai.models.retrieve", (await openai.models.retrieve("stories260K")).id);

const hf = new InferenceClient();
const generated = await hf.textGeneration({ endpointUrl: base, inputs: PROMPT, parameters: { max_new_tokens: 6, temperature: 0 } });
out("hf.textGeneration", generated.generated_text);
let hfStreamed = "";
for await (const chunk of hf.textGenerationStream({ endpointUrl: base, inputs: PROMPT, parameters: { max_new_tokens: 6, temperature: 0 } })) {
  // with an endpointUrl the client hands on the server's OpenAI completion chunks as they come
  hfStreamed += chunk.token?.text ?? chunk.choices?.[0]?.text ?? "";
}
out("hf.textGenerationStream", hfStreamed);

const chat = new ChatOpenAI({ model: "lora-name-max", temperature: 0, maxTokens: 12, apiKey: "not-needed", configuration: { baseURL: base + "/v1" } });
out("langchain.invoke", (await chat.invoke(CHAT.map((m) => ["human", m.content]))).content);
