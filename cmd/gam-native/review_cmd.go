package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/gam-native/gam-native/internal/jsonfile"
	"github.com/gam-native/gam-native/review"
)

func init() {
	commands = append(commands, reviewCommand())
}

func defaultReviewer() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return ""
}

func reviewCommand() *cli.Command {
	return &cli.Command{
		Name:      "review",
		Usage:     "serve a local page to accept, reject or relabel a run's generated images",
		ArgsUsage: "RUN_DIR|OUT",
		Description: "Serves the run folder's review queue (RUN_DIR/review/pending.jsonl), or that of a generate\n" +
			"output OUT (its generate.json names the queue, OUT.review/ by default), as a page of images,\n" +
			"most uncertain first. Decisions go to RUN_DIR/review/decisions.jsonl as they are made;\n" +
			"accepted and relabeled images join the training set at the run's next round, and the dataset\n" +
			"(RUN_DIR/accepted or OUT) with `gam-native review apply`.\n" +
			"The server binds loopback by default; any other address needs --token, which the page\n" +
			"then sends with every decision. See docs/review.md.\n\n" +
			"Examples:\n" +
			"   gam-native review runs/fashion-mnist-lt-20261126-101500\n" +
			"   gam-native review --addr 0.0.0.0:8787 --token s3cret --reviewer ana runs/X   # off loopback",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "addr", Value: "127.0.0.1:8787", Usage: "listen address (host:port); non-loopback needs --token"},
			&cli.StringFlag{Name: "token", Usage: "secret required on every decision (set it to bind off loopback)", EnvVars: []string{"GAM_REVIEW_TOKEN"}},
			&cli.StringFlag{Name: "reviewer", Value: defaultReviewer(), Usage: "name recorded with decisions when the page gives none"},
		},
		Action: func(c *cli.Context) error {
			dir, err := oneRunDir(c)
			if err != nil {
				return err
			}
			base := c.Context
			if base == nil {
				base = context.Background()
			}
			ctx, stop := signal.NotifyContext(base, os.Interrupt, syscall.SIGTERM)
			defer stop()
			opts := review.Options{Token: c.String("token"), Reviewer: c.String("reviewer"),
				Log: log.New(os.Stderr, "review: ", log.LstdFlags)}
			return review.Serve(ctx, dir, c.String("addr"), opts, os.Stderr)
		},
		Subcommands: []*cli.Command{
			reviewApplyCommand(),
			{
				Name:      "export-ls",
				Usage:     "write the images still without a decision as Label Studio tasks",
				ArgsUsage: "RUN_DIR",
				Description: "Writes RUN_DIR's pending images that have no decision yet as a Label Studio tasks file\n" +
					"(JSON), each image's URL the prefix plus its path under review/; --config writes the matching\n" +
					"labeling config (XML). Import the annotations back with `gam-native review import-ls`.\n\n" +
					"Example:\n" +
					"   gam-native review export-ls --out tasks.json --config labeling.xml runs/X\n" +
					"   gam-native review export-ls --out tasks.json --url-prefix https://files.example.org/runs/X/review/ runs/X",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "out", Usage: "tasks file to write (JSON; required)"},
					&cli.StringFlag{Name: "url-prefix", Value: "http://127.0.0.1:8787/img/", Usage: "prefix of each image URL; the path under review/ follows (default: a running `gam-native review`)"},
					&cli.StringFlag{Name: "config", Usage: "also write the matching Label Studio labeling config (XML) here"},
				},
				Action: func(c *cli.Context) error {
					dir, err := oneRunDir(c)
					if err != nil {
						return err
					}
					if c.String("out") == "" {
						return cli.Exit("give --out FILE for the tasks", 2)
					}
					n, err := review.ExportLS(dir, c.String("out"), c.String("url-prefix"))
					if err != nil {
						return err
					}
					if cfg := c.String("config"); cfg != "" {
						classes, err := review.LoadClasses(dir)
						if err != nil {
							return err
						}
						if err := jsonfile.WriteUserFile(cfg, []byte(review.LabelConfig(classes))); err != nil {
							return err
						}
					}
					fmt.Fprintf(c.App.Writer, "wrote %d Label Studio task(s) to %s\n", n, c.String("out"))
					return nil
				},
			},
			{
				Name:      "import-ls",
				Usage:     "append the decisions of a Label Studio JSON export",
				ArgsUsage: "RUN_DIR EXPORT.json",
				Description: "Reads a Label Studio JSON export of the tasks that `review export-ls` wrote and appends each\n" +
					"annotated image's decision (accept, reject, or a relabel to another class) to\n" +
					"RUN_DIR/review/decisions.jsonl; an image already decided the same way is left as it is.\n\n" +
					"Example:\n" +
					"   gam-native review import-ls --reviewer ana runs/X export.json",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "reviewer", Usage: "name recorded with the decisions (default: each annotation's completed_by)"},
				},
				Action: func(c *cli.Context) error {
					args, err := positionalArgs(c)
					if err != nil {
						return err
					}
					if len(args) != 2 {
						return cli.Exit("want RUN_DIR and EXPORT.json", 2)
					}
					queue, _, err := reviewPlaces(args[0])
					if err != nil {
						return err
					}
					res, err := review.ImportLS(queue, args[1], c.String("reviewer"))
					if err != nil {
						return err
					}
					fmt.Fprintf(c.App.Writer, "imported: %d accepted, %d rejected, %d relabeled; %d without annotation, %d unchanged\n",
						res.Accepted, res.Rejected, res.Relabeled, res.Unreviewed, res.Unchanged)
					return nil
				},
			},
		},
	}
}

func oneRunDir(c *cli.Context) (string, error) {
	args, err := positionalArgs(c)
	if err != nil {
		return "", err
	}
	if len(args) != 1 {
		return "", cli.Exit("want one RUN_DIR (the run folder holding review/pending.jsonl) or a generate output", 2)
	}
	queue, _, err := reviewPlaces(args[0])
	return queue, err
}

// positionalArgs lets the (string) flags follow the arguments, as in
// `review DIR --addr :8787`: urfave/cli v2 stops parsing flags at the first
// argument, so the rest are applied here.
func positionalArgs(c *cli.Context) ([]string, error) {
	var pos []string
	args := c.Args().Slice()
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			pos = append(pos, a)
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !hasVal {
			if i+1 >= len(args) {
				return nil, cli.Exit("flag "+a+" needs a value", 2)
			}
			i++
			val = args[i]
		}
		if err := c.Set(name, val); err != nil {
			return nil, cli.Exit(fmt.Sprintf("flag %s: %v", a, err), 2)
		}
	}
	return pos, nil
}
