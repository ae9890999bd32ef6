/* The credentials of an Authorization header: Bearer, ApiToken (DHIS2's personal access
 * tokens) and Basic with the token as the password (dhis2.py), and what is refused. */
#include <criterion/criterion.h>
#include <string.h>

#include "scaleupd/core/credentials.h"

static enum credentials_kind parse(const char *header, char *secret)
{
    return credentials_parse(header, secret);
}

Test(credentials, bearer_and_api_token)
{
    char s[CREDENTIALS_SECRET_MAX];
    cr_expect_eq(parse("Bearer sud_abc", s), CREDENTIALS_BEARER);
    cr_expect_str_eq(s, "sud_abc");
    cr_expect_eq(parse("bearer   sud_abc  ", s), CREDENTIALS_BEARER, "case and spaces");
    cr_expect_str_eq(s, "sud_abc");
    cr_expect_eq(parse("ApiToken d2pat_xyz", s), CREDENTIALS_API_TOKEN);
    cr_expect_str_eq(s, "d2pat_xyz");
    cr_expect_eq(parse("APITOKEN sud_abc", s), CREDENTIALS_API_TOKEN);
}

Test(credentials, basic_takes_the_password_whatever_the_user)
{
    char s[CREDENTIALS_SECRET_MAX];
    /* base64("admin:sud_secret") */
    cr_expect_eq(parse("Basic YWRtaW46c3VkX3NlY3JldA==", s), CREDENTIALS_BASIC);
    cr_expect_str_eq(s, "sud_secret");
    /* base64(":sud_x") — an empty user name; base64("a:sud_b:c") — a colon in the password */
    cr_expect_eq(parse("Basic OnN1ZF94", s), CREDENTIALS_BASIC);
    cr_expect_str_eq(s, "sud_x");
    cr_expect_eq(parse("Basic YTpzdWRfYjpj", s), CREDENTIALS_BASIC);
    cr_expect_str_eq(s, "sud_b:c");
    /* base64("admin:district"): another system's login, no token of ours */
    cr_expect_eq(parse("Basic YWRtaW46ZGlzdHJpY3Q=", s), CREDENTIALS_NONE);
    cr_expect_str_eq(s, "");
}

Test(credentials, malformed_and_unknown)
{
    char s[CREDENTIALS_SECRET_MAX];
    cr_expect_eq(parse(NULL, s), CREDENTIALS_NONE);
    cr_expect_eq(parse("", s), CREDENTIALS_NONE);
    cr_expect_eq(parse("Digest username=x", s), CREDENTIALS_NONE);
    cr_expect_eq(parse("Bearersud_abc", s), CREDENTIALS_NONE, "no space after the scheme");
    cr_expect_eq(parse("Bearer", s), CREDENTIALS_MALFORMED);
    cr_expect_eq(parse("Bearer a b", s), CREDENTIALS_MALFORMED, "a space inside");
    cr_expect_eq(parse("Bearer caf\xc3\xa9", s), CREDENTIALS_MALFORMED, "not ASCII");
    cr_expect_str_eq(s, "");
    cr_expect_eq(parse("Basic", s), CREDENTIALS_MALFORMED);
    cr_expect_eq(parse("Basic YWRtaW4=", s), CREDENTIALS_MALFORMED, "no colon");
    cr_expect_eq(parse("Basic YWRtaW46", s), CREDENTIALS_NONE, "an empty password: no token");
    cr_expect_eq(parse("Basic YWRtaW46c3VkX3NlY3JldA", s), CREDENTIALS_MALFORMED, "no padding");
    cr_expect_eq(parse("Basic YW=taW46", s), CREDENTIALS_MALFORMED, "padding inside");
    cr_expect_eq(parse("Basic YWRt!W46", s), CREDENTIALS_MALFORMED, "not base64");
    /* "OnN1ZF95" is ":sud_y": padding after a full group, or a last group with bits beyond
     * its byte, is not the one text of a value */
    cr_expect_eq(parse("Basic OnN1ZF95====", s), CREDENTIALS_MALFORMED, "a group of padding");
    cr_expect_eq(parse("Basic OnN1ZF9=", s), CREDENTIALS_MALFORMED, "padding bits not zero");
}

Test(credentials, a_long_token_is_cut_not_overrun)
{
    /* no token of ours is that long: cut, it matches none and is an invalid token */
    char header[1024] = "Bearer ";
    memset(header + 7, 'x', 900);
    header[907] = '\0';
    char s[CREDENTIALS_SECRET_MAX];
    cr_expect_eq(parse(header, s), CREDENTIALS_BEARER);
    cr_expect_eq(strlen(s), CREDENTIALS_SECRET_MAX - 1);
}
