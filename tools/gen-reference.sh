#!/bin/sh
# Writes docs/reference.md to stdout: every public function of include/ndpar/*.h, header by
# header in the order they are declared, with its declaration as written and the comment
# above it (the nearest one: a comment heading several declarations documents each of them;
# a comment on the declaration's own last line is added). A function without a comment is
# listed with "UNDOCUMENTED", which tools/check-reference.sh refuses.
# Usage: tools/gen-reference.sh > docs/reference.md (from the repository root)
cd "$(dirname "$0")/.." || exit 1
cat <<'EOT'
# Reference: every public function

Generated from the header comments by `tools/gen-reference.sh`; `make check-build` fails when
this page is stale or a public function has no comment (`tools/check-reference.sh`). The
module pages (docs/<module>.md) explain how the functions work together; docs/API.md why
the signatures are as they are.

EOT
for h in include/ndpar/ndpar_core.h include/ndpar/ndpar_pool.h $(ls include/ndpar/*.h | grep -v 'ndpar_core.h\|ndpar_pool.h\|/ndpar.h$'); do
  perl -e '
    my $h = shift;
    open my $fh, "<", $h or die;
    my @lines = <$fh>;
    my ($comment, $incomment, $buf, $out) = ("", 0, "", "");
    my ($shared_comment, $shared_name) = ("", "");
    my $i = 0;
    while ($i < @lines) {
      my $l = $lines[$i];
      if ($incomment) {
        $buf .= $l;
        if ($l =~ m{\*/}) { $incomment = 0; $comment = $buf; }
        $i++; next;
      }
      if ($l =~ m{^\s*/\*}) {
        $buf = $l;
        if ($l =~ m{\*/}) { $comment = $buf; } else { $incomment = 1; }
        $i++; next;
      }
      if ($l =~ /^NDPAR_API\b/ || ($l =~ /^static inline\b/ && $l =~ /\bndpar_\w+\s*\(/)) {
        my $decl = $l;
        while ($decl !~ /[;{]/ && $i + 1 < @lines) { $i++; $decl .= $lines[$i]; }
        my ($name) = $decl =~ /\b(ndpar_\w+)\s*\(/;
        if (!defined $name) { $i++; next; }
        my $trailing = "";
        if ($decl =~ s{\s*(/\*.*?\*/)\s*$}{\n}s) { $trailing = $1; }
        $decl =~ s/\{.*//s;
        $decl =~ s/\s+$//;
        $decl .= ";" if $decl !~ /;$/;
        my $text = $comment;
        $text =~ s{^\s*/\*+ ?}{}mg; $text =~ s{\s*\*/\s*$}{}s; $text =~ s{^\s*\* ?}{}mg;
        $text =~ s/^-+ *(.*?) *-*$/**$1.**\n/mg;
        $text .= ($text ne "" ? "\n" : "") . do { (my $t = $trailing) =~ s{^/\*\s*|\s*\*/$}{}g; $t } if $trailing ne "";
        $text =~ s/^\s+|\s+$//g;
        $text = "UNDOCUMENTED" if $text eq "";
        # A comment heading several declarations: said once, the others point to the first.
        if ($comment ne "" && $comment eq $shared_comment && $trailing eq "") {
          $text = "Documented with `$shared_name` (one comment above them).";
        } else {
          ($shared_comment, $shared_name) = ($comment, $name);
        }
        $out .= "### `$name`\n\n```\n$decl\n```\n\n$text\n\n";
        $i++; next;
      }
      $i++;
    }
    (my $base = $h) =~ s{.*/}{};
    print "## $base\n\n$out" if $out ne "";
  ' "$h"
done
