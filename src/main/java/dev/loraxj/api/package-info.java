/**
 * HTTP: LoRAX's and OpenAI's routes, their JSON records, error mappers and SSE framing. The OpenAPI
 * document's head (/q/openapi, Swagger UI at /docs) is declared here: its info, tags and the two error
 * shapes the routes refer to. The routes document themselves with annotations, since reactive
 * routes declare no types a scanner could read.
 */
@OpenAPIDefinition(
        info = @Info(title = "loraxj", version = dev.loraxj.api.ServerRoutes.VERSION,
                description = "A multi-LoRA inference server: LoRAX's REST API and OpenAI's API over one base model "
                        + "and any number of LoRA adapters.",
                license = @License(name = "Apache-2.0")),
        tags = {@Tag(name = dev.loraxj.api.OpenapiDocument.LORAX, description = "LoRAX's REST API"),
                @Tag(name = dev.loraxj.api.OpenapiDocument.OPENAI, description = "OpenAI's API: model names the adapter")},
        components = @Components(responses = {
                @APIResponse(name = dev.loraxj.api.OpenapiDocument.LORAX_ERROR, description = "LoRAX's error: 401/403 (with server auth on, "
                        + "no valid API key or bearer token, or a token without the required role; or a private adapter's "
                        + "token is missing or refused), 422 (validation; the message names the field), 424 (generation or "
                        + "adapter failure), 429 (overloaded), 503 (not ready)",
                        content = @Content(mediaType = "application/json", schema = @Schema(implementation = dev.loraxj.api.ErrorResponse.class))),
                @APIResponse(name = dev.loraxj.api.OpenapiDocument.OPENAI_ERROR, description = "OpenAI's error: 400 (invalid parameter, "
                        + "named in param), 401/403 (the server's API key or bearer token, or an adapter's token), 404 (no such model), 429 (overloaded), 500 (generation failed), "
                        + "503 (not ready)",
                        content = @Content(mediaType = "application/json", schema = @Schema(implementation = dev.loraxj.api.OpenaiWire.ErrorBody.class)))}))
package dev.loraxj.api;

import org.eclipse.microprofile.openapi.annotations.Components;
import org.eclipse.microprofile.openapi.annotations.OpenAPIDefinition;
import org.eclipse.microprofile.openapi.annotations.info.Info;
import org.eclipse.microprofile.openapi.annotations.info.License;
import org.eclipse.microprofile.openapi.annotations.media.Content;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;
