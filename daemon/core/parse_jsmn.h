/*
 * jsmn (Serge Zaitsev's JSON tokenizer, MIT licence below) as the ingest parser uses it:
 * parent links, non-strict, static; plus a nesting limit checked inside the tokenizer loop
 * and a count of the parent-walk steps. Why a copy: with parent links jsmn walks up from
 * the last token at every closing bracket, so N nested brackets cost N^2/2 steps (200,000
 * of them held a worker 54 s); bounding the depth where brackets open bounds every walk,
 * and costs two instructions per bracket instead of a pre-scan of every byte.
 * Included only by parse_json_doc.h; docs/ARCHITECTURE.md describes the ingest path.
 *
 * Changes from jsmn 1.1.0 (Debian's libjsmn-dev): jsmn_parser.depth, .depth_max and
 * .steps; JSMN_ERROR_DEPTH; the strict-mode, token-counting (tokens == NULL) and
 * no-parent-links branches removed, since we use none of them.
 *
 * MIT License
 *
 * Copyright (c) 2010 Serge Zaitsev
 *
 * Permission is hereby granted, free of charge, to any person obtaining a copy
 * of this software and associated documentation files (the "Software"), to deal
 * in the Software without restriction, including without limitation the rights
 * to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
 * copies of the Software, and to permit persons to whom the Software is
 * furnished to do so, subject to the following conditions:
 *
 * The above copyright notice and this permission notice shall be included in
 * all copies or substantial portions of the Software.
 *
 * THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
 * IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
 * FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
 * AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
 * LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
 * OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
 * SOFTWARE.
 */
#ifndef SCALEUPD_CORE_PARSE_JSMN_H
#define SCALEUPD_CORE_PARSE_JSMN_H

#include <stddef.h>

typedef enum {
    JSMN_UNDEFINED = 0,
    JSMN_OBJECT = 1,
    JSMN_ARRAY = 2,
    JSMN_STRING = 3,
    JSMN_PRIMITIVE = 4
} jsmntype_t;

enum jsmnerr {
    JSMN_ERROR_NOMEM = -1, /* not enough tokens: grow the array and call again */
    JSMN_ERROR_INVAL = -2, /* invalid character inside a string */
    JSMN_ERROR_PART = -3,  /* the input ends inside a value */
    JSMN_ERROR_DEPTH = -4, /* an object or array opens deeper than depth_max: pos is its '['
                              or '{' */
};

/* A token: its type, its extent in the input ([start, end), a string's without quotes),
 * its number of children (an object counts its keys, a key its value) and its parent. */
typedef struct {
    jsmntype_t type;
    int start;
    int end;
    int size;
    int parent;
} jsmntok_t;

typedef struct {
    unsigned int pos;     /* offset in the JSON string */
    unsigned int toknext; /* next token to allocate */
    int toksuper;         /* superior token node, e.g. parent object or array */
    unsigned depth;       /* objects and arrays open at pos */
    unsigned depth_max;   /* deeper is JSMN_ERROR_DEPTH; set after jsmn_init */
    size_t steps;         /* parent links followed at closing brackets, for the tests */
} jsmn_parser;

/* The functions are compiled in the one file that defines PARSE_JSMN_IMPLEMENTATION
 * (parse_json_doc.c); the others see only the types. */
#ifdef PARSE_JSMN_IMPLEMENTATION

static void jsmn_init(jsmn_parser *parser, unsigned depth_max)
{
    parser->pos = 0;
    parser->toknext = 0;
    parser->toksuper = -1;
    parser->depth = 0;
    parser->depth_max = depth_max;
    parser->steps = 0;
}

/* Allocates a fresh unused token from the token pool. */
static jsmntok_t *jsmn_alloc_token(jsmn_parser *parser, jsmntok_t *tokens, const size_t num_tokens)
{
    jsmntok_t *tok;
    if (parser->toknext >= num_tokens)
        return NULL;
    tok = &tokens[parser->toknext++];
    tok->start = tok->end = -1;
    tok->size = 0;
    tok->parent = -1;
    return tok;
}

static void jsmn_fill_token(jsmntok_t *token, const jsmntype_t type, const int start, const int end)
{
    token->type = type;
    token->start = start;
    token->end = end;
    token->size = 0;
}

/* Fills next available token with JSON primitive. */
static int jsmn_parse_primitive(jsmn_parser *parser, const char *js, const size_t len,
                                jsmntok_t *tokens, const size_t num_tokens)
{
    jsmntok_t *token;
    int start = (int)parser->pos;
    for (; parser->pos < len && js[parser->pos] != '\0'; parser->pos++) {
        switch (js[parser->pos]) {
        case ':':
        case '\t':
        case '\r':
        case '\n':
        case ' ':
        case ',':
        case ']':
        case '}':
            goto found;
        default:
            break;
        }
        if (js[parser->pos] < 32 || js[parser->pos] >= 127) {
            parser->pos = (unsigned)start;
            return JSMN_ERROR_INVAL;
        }
    }
found:
    token = jsmn_alloc_token(parser, tokens, num_tokens);
    if (token == NULL) {
        parser->pos = (unsigned)start;
        return JSMN_ERROR_NOMEM;
    }
    jsmn_fill_token(token, JSMN_PRIMITIVE, start, (int)parser->pos);
    token->parent = parser->toksuper;
    parser->pos--;
    return 0;
}

/* Fills next token with JSON string. */
static int jsmn_parse_string(jsmn_parser *parser, const char *js, const size_t len,
                             jsmntok_t *tokens, const size_t num_tokens)
{
    jsmntok_t *token;
    int start = (int)parser->pos;
    parser->pos++; /* skip the starting quote */
    for (; parser->pos < len && js[parser->pos] != '\0'; parser->pos++) {
        char c = js[parser->pos];
        if (c == '\"') { /* end of string */
            token = jsmn_alloc_token(parser, tokens, num_tokens);
            if (token == NULL) {
                parser->pos = (unsigned)start;
                return JSMN_ERROR_NOMEM;
            }
            jsmn_fill_token(token, JSMN_STRING, start + 1, (int)parser->pos);
            token->parent = parser->toksuper;
            return 0;
        }
        if (c == '\\' && parser->pos + 1 < len) { /* an escape */
            parser->pos++;
            switch (js[parser->pos]) {
            case '\"':
            case '/':
            case '\\':
            case 'b':
            case 'f':
            case 'r':
            case 'n':
            case 't':
                break;
            case 'u': /* \uXXXX */
                parser->pos++;
                for (int i = 0; i < 4 && parser->pos < len && js[parser->pos] != '\0'; i++) {
                    char h = js[parser->pos];
                    if (!((h >= '0' && h <= '9') || (h >= 'A' && h <= 'F') ||
                          (h >= 'a' && h <= 'f'))) {
                        parser->pos = (unsigned)start;
                        return JSMN_ERROR_INVAL;
                    }
                    parser->pos++;
                }
                parser->pos--;
                break;
            default:
                parser->pos = (unsigned)start;
                return JSMN_ERROR_INVAL;
            }
        }
    }
    parser->pos = (unsigned)start;
    return JSMN_ERROR_PART;
}

/* An object or array opens at pos: its token, unless it is one level too deep. */
static int jsmn_open(jsmn_parser *parser, char c, jsmntok_t *tokens, const unsigned num_tokens)
{
    if (parser->depth >= parser->depth_max)
        return JSMN_ERROR_DEPTH;
    jsmntok_t *token = jsmn_alloc_token(parser, tokens, num_tokens);
    if (token == NULL)
        return JSMN_ERROR_NOMEM;
    if (parser->toksuper != -1) {
        tokens[parser->toksuper].size++;
        token->parent = parser->toksuper;
    }
    token->type = (c == '{' ? JSMN_OBJECT : JSMN_ARRAY);
    token->start = (int)parser->pos;
    parser->toksuper = (int)parser->toknext - 1;
    parser->depth++;
    return 0;
}

/* A closing bracket at pos: closes the innermost open object or array, walking up from the
 * last token (at most depth_max containers and their keys are on the way). */
static int jsmn_close(jsmn_parser *parser, char c, jsmntok_t *tokens)
{
    jsmntype_t type = (c == '}' ? JSMN_OBJECT : JSMN_ARRAY);
    if (parser->toknext < 1)
        return JSMN_ERROR_INVAL;
    jsmntok_t *token = &tokens[parser->toknext - 1];
    for (;; parser->steps++) {
        if (token->start != -1 && token->end == -1) {
            if (token->type != type)
                return JSMN_ERROR_INVAL;
            token->end = (int)parser->pos + 1;
            parser->toksuper = token->parent;
            parser->depth--;
            return 0;
        }
        if (token->parent == -1) {
            if (token->type != type || parser->toksuper == -1)
                return JSMN_ERROR_INVAL;
            return 0;
        }
        token = &tokens[token->parent];
    }
}

/*
 * Parses len bytes of js into tokens (num_tokens of them); resumable after
 * JSMN_ERROR_NOMEM with a larger array. Returns the number of tokens or a jsmnerr.
 */
static int jsmn_parse(jsmn_parser *parser, const char *js, const size_t len, jsmntok_t *tokens,
                      const unsigned int num_tokens)
{
    int r;
    for (; parser->pos < len && js[parser->pos] != '\0'; parser->pos++) {
        char c = js[parser->pos];
        switch (c) {
        case '{':
        case '[':
            r = jsmn_open(parser, c, tokens, num_tokens);
            if (r < 0)
                return r;
            break;
        case '}':
        case ']':
            r = jsmn_close(parser, c, tokens);
            if (r < 0)
                return r;
            break;
        case '\"':
            r = jsmn_parse_string(parser, js, len, tokens, num_tokens);
            if (r < 0)
                return r;
            if (parser->toksuper != -1)
                tokens[parser->toksuper].size++;
            break;
        case '\t':
        case '\r':
        case '\n':
        case ' ':
            break;
        case ':':
            parser->toksuper = (int)parser->toknext - 1;
            break;
        case ',':
            if (parser->toksuper != -1 && tokens[parser->toksuper].type != JSMN_ARRAY &&
                tokens[parser->toksuper].type != JSMN_OBJECT)
                parser->toksuper = tokens[parser->toksuper].parent;
            break;
        default: /* in non-strict mode every unquoted value is a primitive */
            r = jsmn_parse_primitive(parser, js, len, tokens, num_tokens);
            if (r < 0)
                return r;
            if (parser->toksuper != -1)
                tokens[parser->toksuper].size++;
            break;
        }
    }
    if (parser->depth > 0)
        return JSMN_ERROR_PART; /* an object or array never closed */
    return (int)parser->toknext;
}

#endif /* PARSE_JSMN_IMPLEMENTATION */

#endif /* SCALEUPD_CORE_PARSE_JSMN_H */
