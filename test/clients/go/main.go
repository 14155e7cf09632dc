// Smoke test of the client OpenAPI Generator's `go` generator writes from the served 3.0.3 document
// (test/clients/go.test.ts builds it with this program): token with the client credentials grant,
// submit a batch with a branching graph, poll it until it ends. Prints the batch id and final state
// as the last line, as JSON.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	pixelshift "github.com/pixelshift/pixelshift-go"
)

func env(name string) string {
	value := os.Getenv(name)
	if value == "" {
		fail(fmt.Errorf("%s is not set", name))
	}
	return value
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	var apiError *pixelshift.GenericOpenAPIError
	if errors.As(err, &apiError) {
		fmt.Fprintln(os.Stderr, string(apiError.Body()))
	}
	os.Exit(1)
}

func main() {
	config := pixelshift.NewConfiguration()
	config.Servers = pixelshift.ServerConfigurations{{URL: env("PIXELSHIFT_URL")}}
	client := pixelshift.NewAPIClient(config)
	ctx := context.Background()

	token, _, err := client.AuthAPI.GetToken(ctx).
		GrantType("client_credentials").
		ClientId(env("PIXELSHIFT_CLIENT_ID")).
		ClientSecret(env("PIXELSHIFT_CLIENT_SECRET")).
		Execute()
	if err != nil {
		fail(fmt.Errorf("token: %w", err))
	}
	ctx = context.WithValue(ctx, pixelshift.ContextAccessToken, token.AccessToken)

	outBucket, prefix := env("PIXELSHIFT_OUTPUT_BUCKET"), env("PIXELSHIFT_OUTPUT_PREFIX")
	small := pixelshift.NewResizeWithWidth("Resize", 320)
	webp := pixelshift.NewImageFormatWebp("ImageFormat", "webp")
	webp.SetQuality(80)
	thumb := pixelshift.NewResizeWithWidth("Resize", 160)
	thumb.SetHeight(160)
	thumb.SetFit("cover")
	png := pixelshift.NewImageFormatPng("ImageFormat", "png")

	graph := pixelshift.NewTransformGraph([]pixelshift.TransformUnit{
		{StorageSource: pixelshift.NewStorageSource("StorageSource", env("PIXELSHIFT_INPUT_BUCKET"), env("PIXELSHIFT_INPUT_KEY"))},
		{AutoOrient: pixelshift.NewAutoOrient("AutoOrient")},
	})
	graph.SetOutputs([]pixelshift.ChildGraph{
		*pixelshift.NewChildGraph([]pixelshift.TransformUnit{
			{Resize: &pixelshift.Resize{ResizeWithWidth: small}},
			{ImageFormat: &pixelshift.ImageFormat{ImageFormatWebp: webp}},
			{StorageSink: pixelshift.NewStorageSink("StorageSink", outBucket, prefix+"/small.webp")},
		}),
		*pixelshift.NewChildGraph([]pixelshift.TransformUnit{
			{Resize: &pixelshift.Resize{ResizeWithWidth: thumb}},
			{ImageFormat: &pixelshift.ImageFormat{ImageFormatPng: png}},
			{StorageSink: pixelshift.NewStorageSink("StorageSink", outBucket, prefix+"/thumb.png")},
		}),
	})

	submitted, _, err := client.BatchesAPI.SubmitBatch(ctx).
		BatchRequest(*pixelshift.NewBatchRequest([]pixelshift.TransformGraph{*graph})).
		Execute()
	if err != nil {
		fail(fmt.Errorf("submit: %w", err))
	}

	deadline := time.Now().Add(2 * time.Minute)
	for {
		status, _, err := client.BatchesAPI.GetBatch(ctx, submitted.BatchId).Execute()
		if err != nil {
			fail(fmt.Errorf("status: %w", err))
		}
		if status.State != "running" {
			line, _ := json.Marshal(map[string]string{"batchId": submitted.BatchId, "state": status.State})
			fmt.Println(string(line))
			return
		}
		if time.Now().After(deadline) {
			fail(fmt.Errorf("batch %s still running", submitted.BatchId))
		}
		time.Sleep(250 * time.Millisecond)
	}
}
