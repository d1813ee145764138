/*  synth - synthetic enterprise profiles (see synth.h).

    The tables come first: provinces and their cities, the ISIC divisions a
    firm may be in (with how common each is on each side, the HS codes the
    division makes and those it buys, a related division, a typical
    certification), then offers and needs by side. HS codes in the tables
    are prefixes (a chapter "61" or a heading "5208"): a product is a random
    subheading of the code tables under one of them, so only codes that exist
    are ever produced. The same goes for ISIC classes, drawn from the table
    under a division or a group.

    Every draw comes from one splitmix64 stream per profile, started from
    (seed, index), in a fixed order: the profile depends on nothing else.
*/
#include "synth.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpec_codes.h"
#include "cpec_pb.h"

//  ---------------------------------------------------------------------------
//  Tables

typedef struct
{
    const char *en; //  "Lahore"
    const char *zh; //  "拉合尔"; Chinese name of a Chinese city
} s_city_t;

#define S_MAX_CITIES 5

typedef struct
{
    const char *code;                  //  ISO 3166-2
    int weight;                        //  relative share of the country's firms
    s_city_t cities[S_MAX_CITIES + 1]; //  ended by {NULL}
} s_province_t;

//  Pakistan: Punjab and Sindh hold most of the industry.
static const s_province_t s_pk_provinces[] = {
    {"PK-PB", 45, {{"Lahore"}, {"Faisalabad"}, {"Sialkot"}, {"Gujranwala"}, {"Multan"}, {NULL}}},
    {"PK-SD", 30, {{"Karachi"}, {"Hyderabad"}, {"Sukkur"}, {"Kotri"}, {NULL}}},
    {"PK-KP", 12, {{"Peshawar"}, {"Nowshera"}, {"Mardan"}, {"Hattar"}, {NULL}}},
    {"PK-BA", 4, {{"Quetta"}, {"Hub"}, {"Gwadar"}, {NULL}}},
    {"PK-IS", 5, {{"Islamabad"}, {NULL}}},
    {"PK-JK", 3, {{"Mirpur"}, {"Muzaffarabad"}, {NULL}}},
    {"PK-GB", 1, {{"Gilgit"}, {NULL}}},
};

//  China: weighted toward the industrial provinces (ISO 3166-2:CN codes).
static const s_province_t s_cn_provinces[] = {
    {"CN-GD",
     16,
     {{"Guangzhou", "广州"},
      {"Shenzhen", "深圳"},
      {"Dongguan", "东莞"},
      {"Foshan", "佛山"},
      {NULL}}},
    {"CN-JS",
     15,
     {{"Suzhou", "苏州"}, {"Nanjing", "南京"}, {"Wuxi", "无锡"}, {"Changzhou", "常州"}, {NULL}}},
    {"CN-ZJ",
     13,
     {{"Hangzhou", "杭州"}, {"Ningbo", "宁波"}, {"Shaoxing", "绍兴"}, {"Wenzhou", "温州"}, {NULL}}},
    {"CN-SD",
     10,
     {{"Qingdao", "青岛"}, {"Jinan", "济南"}, {"Yantai", "烟台"}, {"Weifang", "潍坊"}, {NULL}}},
    {"CN-FJ", 6, {{"Xiamen", "厦门"}, {"Fuzhou", "福州"}, {"Quanzhou", "泉州"}, {NULL}}},
    {"CN-SH", 6, {{"Shanghai", "上海"}, {NULL}}},
    {"CN-HE", 5, {{"Shijiazhuang", "石家庄"}, {"Tangshan", "唐山"}, {"Baoding", "保定"}, {NULL}}},
    {"CN-HB", 5, {{"Wuhan", "武汉"}, {"Xiangyang", "襄阳"}, {NULL}}},
    {"CN-SC", 5, {{"Chengdu", "成都"}, {"Mianyang", "绵阳"}, {NULL}}},
    {"CN-HA", 5, {{"Zhengzhou", "郑州"}, {"Luoyang", "洛阳"}, {NULL}}},
    {"CN-BJ", 4, {{"Beijing", "北京"}, {NULL}}},
    {"CN-AH", 4, {{"Hefei", "合肥"}, {"Wuhu", "芜湖"}, {NULL}}},
    {"CN-TJ", 3, {{"Tianjin", "天津"}, {NULL}}},
    {"CN-HN", 3, {{"Changsha", "长沙"}, {"Zhuzhou", "株洲"}, {NULL}}},
    {"CN-LN", 3, {{"Shenyang", "沈阳"}, {"Dalian", "大连"}, {NULL}}},
    {"CN-CQ", 3, {{"Chongqing", "重庆"}, {NULL}}},
    {"CN-SN", 2, {{"Xi'an", "西安"}, {NULL}}},
    {"CN-XJ", 2, {{"Urumqi", "乌鲁木齐"}, {"Kashgar", "喀什"}, {NULL}}},
    {"CN-JX", 2, {{"Nanchang", "南昌"}, {NULL}}},
    {"CN-GX", 2, {{"Nanning", "南宁"}, {"Liuzhou", "柳州"}, {NULL}}},
};

#define S_COUNT(array) (sizeof (array) / sizeof ((array)[0]))

//  Where Chinese firms would like to be in Pakistan (the provinces with
//  CPEC zones first).
static const s_province_t s_cn_preferred[] = {
    {"PK-PB", 30}, {"PK-SD", 30}, {"PK-KP", 20}, {"PK-BA", 12},
    {"PK-IS", 5},  {"PK-JK", 2},  {"PK-GB", 1},
};

//  An ISIC division a firm may be in. HS lists are space-separated prefixes.
typedef struct
{
    const char *division; //  "13"
    int weight_cn;        //  relative share of Chinese firms
    int weight_pk;        //  relative share of Pakistani firms
    const char *word;     //  in English names: "Textile"
    const char *word_zh;  //  in Chinese names: "纺织"
    const char *made;     //  HS it makes; "" for a service
    const char *bought;   //  HS it buys: its upstream inputs
    const char *related;  //  divisions a further sector may come from ("" none)
    const char *cert;     //  a certification typical of it, or NULL
    bool heavy;           //  energy-intensive: more power, gas and water
} s_division_t;

static const s_division_t s_divisions[] = {
    //  Agriculture (section A)
    {"01", 2, 6, "Agro", "农业", "0702 0703 0804 0805 0910 1001 1005 1006 1201 1207 5201",
     "3102 3103 3105 3808 1209 8424 8432 8433 8701", "10", "GlobalG.A.P.", false},
    //  Mining and quarrying (B): marble, granite, coal, ores
    {"08", 2, 3, "Minerals", "矿业", "2504 2510 2515 2516 2517 2520 2601 2603",
     "3602 3603 8429 8430 8474 2710 4011", "23", NULL, true},
    //  Manufacturing (C)
    {"10", 5, 11, "Foods", "食品", "02 04 1006 11 15 16 17 19 20 21",
     "1001 1005 0401 1201 1205 0713 1701 3923 4819 7310", "01", "HACCP", false},
    {"13", 10, 18, "Textile", "纺织",
     "5205 5206 5207 5208 5209 5210 5211 5212 5402 5407 5509 5512 5513 5515 5601 5603 5607 "
     "5702 5703 5801 6001 6004 6006 6302 6304",
     "5201 5203 5101 5501 5503 5402 3204 3402 8445 8446 8447", "14", "OEKO-TEX Standard 100", true},
    {"14", 6, 14, "Garments", "服装", "61 62",
     "5204 5208 5209 5210 5211 5212 5407 5512 5513 5515 5806 6001 6004 6006 9606 9607", "13 15",
     "WRAP", false},
    {"15", 2, 8, "Leather", "皮革", "4107 4112 4113 4202 4203 4205 6403 6404 6405",
     "4101 4102 4103 4104 4105 4106 3202 3204 6406", "14", "LWG", false},
    {"17", 2, 2, "Paper", "造纸", "4801 4802 4804 4805 4810 4819", "4702 4703 4704 4707 3505", "22",
     "FSC", true},
    {"20", 8, 5, "Chemicals", "化工",
     "2801 2804 2807 2815 2836 2901 2902 2905 2915 3102 3105 3204 3208 3209 3402 3808 3824",
     "2501 2503 2510 2710 2711 2804 2814 2902", "21 22", "Responsible Care", true},
    {"21", 3, 3, "Pharma", "制药", "3002 3003 3004 3006", "1702 2936 2937 2941 2942 3923 7010",
     "20", "WHO GMP", false},
    {"22", 6, 5, "Plastics", "塑料", "3917 3920 3921 3923 3924 3925 3926 4009 4011 4013 4016",
     "3901 3902 3903 3904 3907 3908 4001 4002 2803", "20", NULL, true},
    {"23", 6, 6, "Building Materials", "建材", "2523 6802 6810 6904 6907 6910 7003 7005 7010 7013",
     "2505 2507 2508 2515 2521 2529 2701 2711", "08", NULL, true},
    {"24", 8, 4, "Steel", "钢铁",
     "7201 7206 7207 7208 7209 7210 7213 7214 7216 7219 7224 7304 7306 7403 7407 7601 7604 7606",
     "2601 2602 2603 2606 2701 2704 2818 7202 7204", "25", NULL, true},
    {"25", 5, 5, "Metal Works", "金属制品",
     "7308 7309 7310 7318 7323 7326 7610 8201 8203 8205 8207 8301 8302",
     "7208 7209 7210 7213 7214 7219 7403 7604 7606", "24 28", NULL, false},
    {"26", 10, 2, "Electronics", "电子",
     "8471 8473 8517 8518 8523 8525 8528 8534 8541 8542 9013 9026 9030",
     "3926 7409 8504 8507 8532 8533 8534 8541 8542", "27", "CE", false},
    {"27", 9, 4, "Electric", "电气",
     "8418 8450 8501 8502 8504 8506 8507 8509 8516 8535 8536 8537 8539 8544",
     "3901 3907 7225 7226 7403 7408 7409 7601 7605 8532 8541", "26 28", "CE", false},
    {"28", 9, 3, "Machinery", "机械",
     "8407 8408 8413 8414 8415 8419 8421 8424 8428 8429 8432 8433 8438 8445 8447 8452 8462 "
     "8474 8481 8482 8483",
     "4010 7208 7210 7214 7228 7318 7325 8482 8483 8501 8537", "25 27", "CE", false},
    {"29", 6, 3, "Motors", "汽车", "8701 8702 8703 8704 8706 8707 8708 8716",
     "3926 4011 7007 7208 7209 7210 8407 8408 8409 8507 8511 8512 8708", "22 28", "IATF 16949",
     false},
    {"31", 2, 2, "Furniture", "家具", "9401 9403 9404", "3921 4407 4410 4411 4412 5407 7306 8302",
     "25", "FSC", false},
    //  Electricity (D), construction (F), logistics (H), ICT (J)
    {"35", 4, 2, "Power", "电力", "2716", "2701 2710 2711 8410 8411 8502 8504 8541", "42", NULL,
     true},
    {"42", 3, 2, "Construction", "建设", "", "2517 2523 2713 6810 7213 7214 7308 8429", "35", NULL,
     false},
    {"52", 2, 3, "Logistics", "物流", "", "2710 3923 4819 8427 8609 8704 8716", "", NULL, false},
    {"62", 3, 3, "Software", "软件", "", "8443 8471 8473 8517 8523", "", NULL, false},
};

//  A class under a division that no synthetic firm is in.
static const char *s_excluded_classes[] = {"2520"}; //  weapons and ammunition

typedef struct
{
    int value;  //  an Offer.Kind or a Need.Kind
    int weight; //  relative chance, per side
} s_kind_t;

static const s_kind_t s_cn_offers[] = {
    {CPEC__V1__OFFER__KIND__CAPITAL, 30},
    {CPEC__V1__OFFER__KIND__TECHNOLOGY, 30},
    {CPEC__V1__OFFER__KIND__MANUFACTURING_CAPACITY, 25},
    {CPEC__V1__OFFER__KIND__DISTRIBUTION, 8},
    {CPEC__V1__OFFER__KIND__RAW_MATERIALS, 7},
};
static const s_kind_t s_pk_offers[] = {
    {CPEC__V1__OFFER__KIND__SITE, 25},          {CPEC__V1__OFFER__KIND__DISTRIBUTION, 25},
    {CPEC__V1__OFFER__KIND__RAW_MATERIALS, 20}, {CPEC__V1__OFFER__KIND__MANUFACTURING_CAPACITY, 25},
    {CPEC__V1__OFFER__KIND__CAPITAL, 3},        {CPEC__V1__OFFER__KIND__TECHNOLOGY, 2},
};
static const s_kind_t s_cn_needs[] = {
    {CPEC__V1__NEED__KIND__RELOCATION_SITE, 32}, {CPEC__V1__NEED__KIND__JV_PARTNER, 25},
    {CPEC__V1__NEED__KIND__BUYER, 20},           {CPEC__V1__NEED__KIND__SUPPLIER, 15},
    {CPEC__V1__NEED__KIND__INVESTMENT, 3},       {CPEC__V1__NEED__KIND__TECHNOLOGY, 2},
};
static const s_kind_t s_pk_needs[] = {
    {CPEC__V1__NEED__KIND__TECHNOLOGY, 30}, {CPEC__V1__NEED__KIND__INVESTMENT, 30},
    {CPEC__V1__NEED__KIND__JV_PARTNER, 20}, {CPEC__V1__NEED__KIND__BUYER, 15},
    {CPEC__V1__NEED__KIND__SUPPLIER, 5},
};

//  Company forms: English and Chinese, in pairs for Chinese firms.
//  "Mills" only where Pakistani firms are called so (food, textiles, paper,
//  steel): the last form.
static const char *s_pk_forms[] = {"Industries", "(Pvt.) Ltd.", "Enterprises", "Group", "Mills"};
static const char *s_cn_forms[][2] = {{"Co., Ltd.", "有限公司"},
                                      {"Group Co., Ltd.", "集团有限公司"},
                                      {"Industrial Co., Ltd.", "实业有限公司"},
                                      {"Technology Co., Ltd.", "科技有限公司"}};

static const char *s_markets[] = {"US", "DE", "GB", "AE", "SA", "IT", "ES", "NL", "FR", "JP",
                                  "KR", "BD", "AF", "KE", "TR", "MY", "ID", "VN", "CN", "PK"};

static const s_kind_t s_certifications[] = {{0, 45}, {1, 25}, {2, 15}, {3, 5}, {4, 10}};
static const char *s_certification_names[] = {"ISO 9001", "ISO 14001", "ISO 45001", "ISO 50001",
                                              "SA8000"};

//  How many of something, from 1: weights of 1, 2, 3, 4.
static const int s_one_to_three[] = {45, 35, 20};
static const int s_one_to_four[] = {35, 30, 20, 15};

//  ---------------------------------------------------------------------------
//  The random stream: splitmix64

typedef struct
{
    uint64_t state;
} s_rng_t;

static uint64_t
s_mix (uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

//  The stream of one profile: s_mix is a bijection, so within a data set
//  every index starts from its own state.
static s_rng_t
s_rng (uint64_t seed, uint64_t index)
{
    s_rng_t self = {s_mix (s_mix (seed ^ 0x6a09e667f3bcc908ULL) + index)};
    return self;
}

static uint64_t
s_next (s_rng_t *self)
{
    self->state += 0x9e3779b97f4a7c15ULL;
    return s_mix (self->state);
}

//  Uniform in [0, 1).
static double
s_uniform (s_rng_t *self)
{
    return (double)(s_next (self) >> 11) * 0x1.0p-53;
}

//  Uniform in [low, high).
static double
s_between (s_rng_t *self, double low, double high)
{
    return low + s_uniform (self) * (high - low);
}

//  Uniform in [0, n); n > 0.
static size_t
s_below (s_rng_t *self, size_t n)
{
    assert (n > 0);
    return (size_t)(((s_next (self) >> 32) * (uint64_t)n) >> 32);
}

static bool
s_chance (s_rng_t *self, double probability)
{
    return s_uniform (self) < probability;
}

//  Log-uniform in [low, high): as many firms of 10 to 100 people as of
//  1,000 to 10,000.
static double
s_log_uniform (s_rng_t *self, double low, double high)
{
    return exp (log (low) + s_uniform (self) * (log (high) - log (low)));
}

//  An index from 0 to count - 1, each with its weight (not all zero).
static size_t
s_weighted (s_rng_t *self, const int *weights, size_t count)
{
    int total = 0;
    for (size_t index = 0; index < count; index++)
        total += weights[index];
    assert (total > 0);
    int draw = (int)s_below (self, (size_t)total);
    for (size_t index = 0; index < count; index++) {
        if (draw < weights[index])
            return index;
        draw -= weights[index];
    }
    return count - 1;
}

//  Rounds to a multiple of step (money to the thousand, acres to the acre).
static double
s_round (double value, double step)
{
    return round (value / step) * step;
}

//  ---------------------------------------------------------------------------
//  Code tables

typedef const char *(s_at_fn)(int level, int index);

//  The range [*first, *last) of the codes of a level (sorted, as the tables
//  keep them) that start with prefix.
static void
s_range (s_at_fn *at, int level, int count, const char *prefix, int *first, int *last)
{
    size_t length = strlen (prefix);
    int low = 0, high = count;
    while (low < high) { //  the first code not below the prefix
        int middle = low + (high - low) / 2;
        if (strcmp (at (level, middle), prefix) < 0)
            low = middle + 1;
        else
            high = middle;
    }
    *first = low;
    high = count;
    while (low < high) { //  the first code past the prefix
        int middle = low + (high - low) / 2;
        if (strncmp (at (level, middle), prefix, length) <= 0)
            low = middle + 1;
        else
            high = middle;
    }
    *last = low;
}

//  How many space-separated words list has.
static size_t
s_words (const char *list)
{
    size_t count = 0;
    for (const char *at = list; *at;) {
        at += strspn (at, " ");
        if (*at == '\0')
            break;
        count++;
        at += strcspn (at, " ");
    }
    return count;
}

//  Word `which` (from 0) of a space-separated list, into buf.
static const char *
s_word (const char *list, size_t which, char *buf, size_t size)
{
    const char *at = list;
    for (size_t index = 0;; index++) {
        at += strspn (at, " ");
        size_t length = strcspn (at, " ");
        assert (length > 0);
        if (index == which) {
            if (length >= size)
                length = size - 1; //  the lists hold short prefixes only
            memcpy (buf, at, length);
            buf[length] = '\0';
            return buf;
        }
        at += length;
    }
}

//  A random HS subheading under one of the prefixes of list, or NULL when
//  the prefix drawn has none in the table.
static const char *
s_pick_hs (s_rng_t *rng, const char *list)
{
    size_t words = s_words (list);
    if (words == 0)
        return NULL;
    char prefix[8];
    s_word (list, s_below (rng, words), prefix, sizeof (prefix));
    int first = 0, last = 0;
    s_range (cpec_codes_hs_at, 6, cpec_codes_hs_count (6), prefix, &first, &last);
    return last > first ? cpec_codes_hs_at (6, first + (int)s_below (rng, (size_t)(last - first)))
                        : NULL;
}

static bool
s_excluded (const char *class)
{
    for (size_t index = 0; index < S_COUNT (s_excluded_classes); index++)
        if (strcmp (class, s_excluded_classes[index]) == 0)
            return true;
    return false;
}

//  A random ISIC class under an ISIC division or group, or NULL (none, or
//  an excluded one drawn).
static const char *
s_pick_class (s_rng_t *rng, const char *prefix)
{
    int first = 0, last = 0;
    s_range (cpec_codes_isic_at, 4, cpec_codes_isic_count (4), prefix, &first, &last);
    if (last <= first)
        return NULL;
    const char *class = cpec_codes_isic_at (4, first + (int)s_below (rng, (size_t)(last - first)));
    return s_excluded (class) ? NULL : class;
}

static const s_division_t *
s_division (const char *code)
{
    for (size_t index = 0; index < S_COUNT (s_divisions); index++)
        if (strncmp (s_divisions[index].division, code, 2) == 0)
            return &s_divisions[index];
    return NULL;
}

//  ---------------------------------------------------------------------------
//  Sets of strings and kinds being drawn (small: linear search)

#define S_SET_MAX 16

typedef struct
{
    const char *values[S_SET_MAX]; //  borrowed: code tables or static strings
    size_t count;
} s_set_t;

static bool
s_set_has (const s_set_t *self, const char *value)
{
    for (size_t index = 0; index < self->count; index++)
        if (strcmp (self->values[index], value) == 0)
            return true;
    return false;
}

//  Adds value unless NULL, present or full; true if added.
static bool
s_set_add (s_set_t *self, const char *value)
{
    if (value == NULL || self->count == S_SET_MAX || s_set_has (self, value))
        return false;
    self->values[self->count++] = value;
    return true;
}

//  A repeated string field set to copies of the set's values.
static void
s_set_strings (const s_set_t *self, size_t *n_field, char ***field)
{
    *n_field = self->count;
    *field = NULL;
    if (self->count == 0)
        return;
    *field = cpec_realloc (NULL, self->count * sizeof (char *));
    for (size_t index = 0; index < self->count; index++)
        (*field)[index] = cpec_strdup (self->values[index]);
}

//  Up to `count` distinct kinds drawn by weight (those of weight 0 never):
//  into kinds, returns how many.
static size_t
s_draw_kinds (s_rng_t *rng, const s_kind_t *table, size_t size, size_t count, int *kinds)
{
    int weights[16];
    assert (size <= 16);
    size_t available = 0;
    for (size_t index = 0; index < size; index++) {
        weights[index] = table[index].weight;
        available += weights[index] > 0;
    }
    size_t drawn = 0;
    for (; drawn < count && drawn < available; drawn++) {
        size_t pick = s_weighted (rng, weights, size);
        kinds[drawn] = table[pick].value;
        weights[pick] = 0; //  no duplicates
    }
    return drawn;
}

//  ---------------------------------------------------------------------------
//  The profile

const char *
synth_enterprise_id (uint64_t seed, uint64_t index, char *buf, size_t size)
{
    snprintf (buf, size, "syn-%" PRIu64 "-%" PRIu64, seed, index);
    return buf;
}

//  A province (and a city in it) of a table, by weight.
static const s_province_t *
s_pick_province (s_rng_t *rng, const s_province_t *table, size_t size)
{
    int weights[32];
    assert (size <= 32);
    for (size_t index = 0; index < size; index++)
        weights[index] = table[index].weight;
    return &table[s_weighted (rng, weights, size)];
}

//  The firm's ISIC classes: the first in a division drawn by the side's
//  weights, the others mostly in its group or division, sometimes in a
//  related division.
static void
s_pick_sectors (s_rng_t *rng, bool chinese, s_set_t *sectors)
{
    int weights[S_COUNT (s_divisions)];
    for (size_t index = 0; index < S_COUNT (s_divisions); index++)
        weights[index] = chinese ? s_divisions[index].weight_cn : s_divisions[index].weight_pk;
    const s_division_t *division = &s_divisions[s_weighted (rng, weights, S_COUNT (s_divisions))];
    while (sectors->count == 0)
        s_set_add (sectors, s_pick_class (rng, division->division));

    size_t wanted = 1 + s_weighted (rng, s_one_to_three, S_COUNT (s_one_to_three));
    const char *first = sectors->values[0];
    for (int tries = 0; sectors->count < wanted && tries < 12; tries++) {
        double kind = s_uniform (rng);
        char prefix[4];
        if (kind < 0.5) //  the same group
            snprintf (prefix, sizeof (prefix), "%.3s", first);
        else if (kind < 0.85 || s_words (division->related) == 0) //  the same division
            snprintf (prefix, sizeof (prefix), "%.2s", first);
        else
            s_word (division->related, s_below (rng, s_words (division->related)), prefix,
                    sizeof (prefix));
        s_set_add (sectors, s_pick_class (rng, prefix));
    }
}

//  The division of one of the firm's sectors: the first more often.
static const s_division_t *
s_some_division (s_rng_t *rng, const s_set_t *sectors)
{
    size_t which = sectors->count > 1 && s_chance (rng, 0.4) ? s_below (rng, sectors->count) : 0;
    const s_division_t *division = s_division (sectors->values[which]);
    return division ? division : s_division (sectors->values[0]);
}

//  Products made (none for a service firm) and bought, from the tables of
//  the firm's divisions; nothing is both made and bought.
static void
s_pick_products (s_rng_t *rng, const s_set_t *sectors, s_set_t *made, s_set_t *bought)
{
    size_t wanted = 1 + s_weighted (rng, s_one_to_four, S_COUNT (s_one_to_four));
    for (int tries = 0; made->count < wanted && tries < 24; tries++)
        s_set_add (made, s_pick_hs (rng, s_some_division (rng, sectors)->made));
    wanted = 1 + s_weighted (rng, s_one_to_four, S_COUNT (s_one_to_four));
    for (int tries = 0; bought->count < wanted && tries < 24; tries++) {
        const char *code = s_pick_hs (rng, s_some_division (rng, sectors)->bought);
        if (code && !s_set_has (made, code))
            s_set_add (bought, code);
    }
}

//  Offers and needs typical of the side; a service firm (it makes nothing)
//  offers no manufacturing capacity nor raw materials.
static void
s_pick_kinds (s_rng_t *rng, bool chinese, bool service, Cpec__V1__Enterprise *self)
{
    s_kind_t table[16];
    const s_kind_t *offers = chinese ? s_cn_offers : s_pk_offers;
    size_t size = chinese ? S_COUNT (s_cn_offers) : S_COUNT (s_pk_offers);
    for (size_t index = 0; index < size; index++) {
        table[index] = offers[index];
        if (service && (table[index].value == CPEC__V1__OFFER__KIND__MANUFACTURING_CAPACITY ||
                        table[index].value == CPEC__V1__OFFER__KIND__RAW_MATERIALS))
            table[index].weight = 0;
    }
    int kinds[16];
    size_t count = 1 + s_weighted (rng, s_one_to_three, S_COUNT (s_one_to_three));
    count = s_draw_kinds (rng, table, size, count, kinds);
    self->offers = cpec_realloc (NULL, count * sizeof (*self->offers));
    for (size_t index = 0; index < count; index++)
        self->offers[index] = (Cpec__V1__Offer__Kind)kinds[index];
    self->n_offers = count;

    count = 1 + s_weighted (rng, s_one_to_three, S_COUNT (s_one_to_three));
    count = chinese ? s_draw_kinds (rng, s_cn_needs, S_COUNT (s_cn_needs), count, kinds)
                    : s_draw_kinds (rng, s_pk_needs, S_COUNT (s_pk_needs), count, kinds);
    self->needs = cpec_realloc (NULL, count * sizeof (*self->needs));
    for (size_t index = 0; index < count; index++)
        self->needs[index] = (Cpec__V1__Need__Kind)kinds[index];
    self->n_needs = count;
}

static bool
s_needs (const Cpec__V1__Enterprise *self, Cpec__V1__Need__Kind kind)
{
    for (size_t index = 0; index < self->n_needs; index++)
        if (self->needs[index] == kind)
            return true;
    return false;
}

//  Size, revenue, the investment range, the site and its utilities.
static void
s_pick_figures (s_rng_t *rng, bool chinese, const s_division_t *division,
                Cpec__V1__Enterprise *self)
{
    double size = s_uniform (rng); //  0: 10 people, 1: 20,000
    self->employees = (uint32_t)round (exp (log (10.0) + size * (log (20000.0) - log (10.0))));
    double per_head = chinese ? s_between (rng, 40e3, 160e3) : s_between (rng, 12e3, 50e3);
    self->revenue_usd = s_round (self->employees * per_head, 1000);

    //  The range it would invest (or seeks): bigger firms, bigger tickets.
    double position = 0.6 * size + 0.4 * s_uniform (rng);
    double low = s_round (exp (log (0.5e6) + position * (log (20e6) - log (0.5e6))), 10e3);
    double high = s_round (low * s_between (rng, 1.5, 4.0), 10e3);
    self->investment_min_usd = low;
    self->investment_max_usd = high > 50e6 ? (low > 50e6 ? low : 50e6) : high;

    //  Land in a zone: relocating Chinese firms; a few Pakistani firms
    //  expanding into one.
    double acres = 0;
    if (chinese && s_needs (self, CPEC__V1__NEED__KIND__RELOCATION_SITE))
        acres = s_chance (rng, 0.05) ? s_log_uniform (rng, 200, 1000) : s_log_uniform (rng, 1, 200);
    else if (!chinese && s_chance (rng, 0.12))
        acres = s_log_uniform (rng, 1, 50);
    self->site_acres = acres > 0 ? fmax (1, s_round (acres, 1)) : 0;
    if (self->site_acres > 0) {
        double heavy = division->heavy ? 2.5 : 1.0;
        self->power_mw =
            fmin (50, s_round (self->site_acres * s_between (rng, 0.05, 0.3) * heavy, 0.1));
        self->gas_mmcfd = division->heavy       ? s_round (s_between (rng, 0.1, 5), 0.01)
                          : s_chance (rng, 0.3) ? s_round (s_between (rng, 0, 0.5), 0.01)
                                                : 0;
        self->water_mgd = s_round (s_between (rng, 0.01, 0.5) * heavy, 0.01);
    }
}

//  The remaining lists: preferred provinces, languages, export markets,
//  certifications.
static void
s_pick_lists (s_rng_t *rng, bool chinese, const s_province_t *home, const s_division_t *division,
              Cpec__V1__Enterprise *self)
{
    s_set_t set = {{NULL}, 0};
    size_t wanted = s_weighted (rng, (const int[]){30, 45, 25}, 3);
    if (!chinese && wanted > 0 && s_chance (rng, 0.8))
        s_set_add (&set, home->code);
    const s_province_t *table = chinese ? s_cn_preferred : s_pk_provinces;
    size_t size = chinese ? S_COUNT (s_cn_preferred) : S_COUNT (s_pk_provinces);
    for (int tries = 0; set.count < wanted && tries < 8; tries++)
        s_set_add (&set, s_pick_province (rng, table, size)->code);
    s_set_strings (&set, &self->n_preferred_provinces, &self->preferred_provinces);

    set.count = 0;
    s_set_add (&set, chinese ? "zh" : "en");
    if (chinese ? s_chance (rng, 0.65) : true)
        s_set_add (&set, chinese ? "en" : "ur");
    if (!chinese && s_chance (rng, 0.08))
        s_set_add (&set, "zh");
    s_set_strings (&set, &self->n_languages, &self->languages);

    set.count = 0;
    wanted = s_weighted (rng, (const int[]){30, 30, 25, 15}, 4);
    for (int tries = 0; set.count < wanted && tries < 8; tries++) {
        const char *market = s_markets[s_below (rng, S_COUNT (s_markets))];
        if (strcmp (market, self->country) != 0)
            s_set_add (&set, market);
    }
    s_set_strings (&set, &self->n_export_markets, &self->export_markets);

    set.count = 0;
    wanted = s_weighted (rng, (const int[]){35, 40, 25}, 3);
    for (int tries = 0; set.count < wanted && tries < 8; tries++) {
        if (division->cert && s_chance (rng, 0.3))
            s_set_add (&set, division->cert);
        else {
            int weights[S_COUNT (s_certifications)];
            for (size_t index = 0; index < S_COUNT (s_certifications); index++)
                weights[index] = s_certifications[index].weight;
            size_t pick = s_weighted (rng, weights, S_COUNT (s_certifications));
            s_set_add (&set, s_certification_names[s_certifications[pick].value]);
        }
    }
    s_set_strings (&set, &self->n_certifications, &self->certifications);
}

Cpec__V1__Enterprise *
synth_enterprise (uint64_t seed, uint64_t index)
{
    s_rng_t rng = s_rng (seed, index);
    Cpec__V1__Enterprise *self =
        (Cpec__V1__Enterprise *)cpec_pb_new (&cpec__v1__enterprise__descriptor);
    char text[256];
    cpec_pb_string_set (&self->id, synth_enterprise_id (seed, index, text, sizeof (text)));

    bool chinese = s_chance (&rng, 0.5);
    cpec_pb_string_set (&self->country, chinese ? "CN" : "PK");
    const s_province_t *province =
        chinese ? s_pick_province (&rng, s_cn_provinces, S_COUNT (s_cn_provinces))
                : s_pick_province (&rng, s_pk_provinces, S_COUNT (s_pk_provinces));
    cpec_pb_string_set (&self->province, province->code);
    size_t n_cities = 0;
    while (province->cities[n_cities].en)
        n_cities++;
    const s_city_t *city = &province->cities[s_below (&rng, n_cities)];
    cpec_pb_string_set (&self->city, city->en);

    s_set_t sectors = {{NULL}, 0}, made = {{NULL}, 0}, bought = {{NULL}, 0};
    s_pick_sectors (&rng, chinese, &sectors);
    const s_division_t *division = s_division (sectors.values[0]);
    assert (division);
    s_pick_products (&rng, &sectors, &made, &bought);
    s_set_strings (&sectors, &self->n_sectors, &self->sectors);
    s_set_strings (&made, &self->n_products_made, &self->products_made);
    s_set_strings (&bought, &self->n_products_bought, &self->products_bought);

    //  "Faisalabad Textile Mills 000123"; "Suzhou Textile Co., Ltd. 000123"
    //  and "苏州纺织有限公司000123". The number keeps names apart.
    if (chinese) {
        const char **form = s_cn_forms[s_below (&rng, S_COUNT (s_cn_forms))];
        snprintf (text, sizeof (text), "%s %s %s %06" PRIu64, city->en, division->word, form[0],
                  index);
        cpec_pb_string_set (&self->name, text);
        snprintf (text, sizeof (text), "%s%s%s%06" PRIu64, city->zh, division->word_zh, form[1],
                  index);
        cpec_pb_string_set (&self->name_zh, text);
    } else {
        bool mills = strstr ("10 13 17 24", division->division) != NULL;
        const char *form = s_pk_forms[s_below (&rng, S_COUNT (s_pk_forms) - !mills)];
        snprintf (text, sizeof (text), "%s %s %s %06" PRIu64, city->en, division->word, form,
                  index);
        cpec_pb_string_set (&self->name, text);
    }

    s_pick_kinds (&rng, chinese, *division->made == '\0', self);
    s_pick_figures (&rng, chinese, division, self);
    s_pick_lists (&rng, chinese, province, division, self);
    return self;
}

void
synth_enterprise_destroy (Cpec__V1__Enterprise **self_p)
{
    assert (self_p);
    ProtobufCMessage *message = *self_p ? &(*self_p)->base : NULL;
    cpec_pb_destroy (&message);
    *self_p = NULL;
}
