/*
** test_conv_layers.c: the layers of ag_conv_layers.h: outputs against
** PyTorch's with the same weights, descriptions as PyTorch prints them,
** PyTorch's default init, state_dict names, every constructor and forward
** error, and a model saved with ag_module_save that loads into the same
** torch.nn model with the same outputs (tests/conv_torch_check.py).
**
** The PyTorch numbers were produced once with /usr/bin/python3 (torch 1.13)
** by this script; weights, biases and inputs are formulas both sides
** evaluate (i the row-major index):
**
**     import math, torch
**     from torch import nn
**     torch.set_default_dtype(torch.float64)
**     def fill(t, a, b, scale=1.0):
**         with torch.no_grad():
**             t.copy_(torch.tensor([scale*math.sin(a*i+b) for i in range(t.numel())]).reshape(t.shape))
**     def run(name, m, xshape):
**         fill(m.weight, 0.91, 0.3, 0.5)
**         if m.bias is not None: fill(m.bias, 0.7, 0.2, 0.3)
**         x = torch.zeros(xshape); fill(x, 0.37, 0.1)
**         y = m(x).detach().flatten().tolist()
**         print("// %s: %s on x %s -> %s" % (name, repr(m), list(xshape), list(m(x).shape)))
**         print("static const double %s[%d] = {" % (name, len(y)))
**         for i in range(0, len(y), 5):
**             print("    " + ", ".join("%.12g" % v for v in y[i:i+5]) + ",")
**         print("};")
**     run("pt_layer_conv2d", nn.Conv2d(2, 3, (3, 2), stride=(2, 1), padding=1), (2, 2, 5, 4))
**     run("pt_layer_conv1d", nn.Conv1d(2, 4, 3, padding="same", dilation=2, bias=False), (2, 2, 7))
**     run("pt_layer_convt2d", nn.ConvTranspose2d(2, 4, 3, stride=2, padding=1, output_padding=1, groups=2), (1, 2, 3, 3))
**     run("pt_layer_convt1d", nn.ConvTranspose1d(3, 2, 2, stride=3), (1, 3, 4))
*/
#include "st_test_util.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

extern char **environ;

// pt_layer_conv2d: Conv2d(2, 3, kernel_size=(3, 2), stride=(2, 1), padding=(1, 1)) on x [2, 2, 5, 4] -> [2, 3, 3, 5]
static const double pt_layer_conv2d[90] = {
    -0.219319189845, 0.139301815976, 0.56632558762, 0.924766536309, 0.644900462719,
    0.981982294609, 0.686098910069, 0.163608205683, -0.372959413244, -0.273410194225,
    -0.223177964382, 0.189948694455, 0.530784127493, 0.807847107472, 0.620189125703,
    0.650734395026, 1.17134478198, 1.0415627021, 0.802615883427, 0.180355524002,
    -0.541268798233, -1.61613981618, -1.15031963449, -0.497003199934, 0.235081995261,
    0.794718559955, 1.39916564971, 1.29639063515, 1.0499611165, 0.344044795766,
    0.516013916407, 0.0787782765218, -0.328647786407, -0.651006633813, -0.277176298896,
    -0.505289440484, -0.0470954415966, 0.405054209209, 0.842967952382, 0.6328704017,
    0.498130400125, -0.00627063195429, -0.331586551046, -0.571437506609, -0.277182817156,
    0.663797262974, 0.953143209385, 0.603867426535, 0.18092770895, -0.195879371249,
    -1.03134145162, -1.37242873249, -1.1586721083, -0.78002796124, 0.128373164267,
    0.541578465744, 0.74157462286, 0.44310679706, 0.0927332335625, -0.28838203495,
    0.191927206145, -0.485961508471, -0.66320250232, -0.718876261964, -0.149784315258,
    0.784457730236, 2.11643116034, 2.30720801534, 2.21752097581, 1.25612092586,
    0.12678738599, -0.53367481568, -0.798731823646, -0.923878339563, -0.25933879537,
    -0.297820477959, -0.484802017951, -0.108762005609, 0.322584713355, 0.613456214357,
    1.30784332124, 1.44779630589, 1.20523147306, 0.840130493732, 0.0769053290017,
    -0.165765259381, -0.266028496065, 0.0724641932595, 0.44173547336, 0.72250212341,
};
// pt_layer_conv1d: Conv1d(2, 4, kernel_size=(3,), stride=(1,), padding=same, dilation=(2,), bias=False) on x [2, 2, 7] -> [2, 4, 7]
static const double pt_layer_conv1d[56] = {
    0.348854999382, 0.884725288852, 1.33990251713, 1.61237140814, 1.66661339302,
    0.891567503525, 0.793761511855, 0.492751664229, 0.773598467917, 1.10033624539,
    0.916985482862, 0.609525037005, -0.316829819993, -0.468347579614, 0.321177701818,
    0.16719661975, 0.156310119464, -0.365475040969, -0.837794869128, -1.32238561236,
    -1.43061008417, -0.0560214028495, -0.546248240825, -0.887789238097, -1.41395027608,
    -1.74873977734, -1.48132058355, -1.47696404213, -1.22382384186, -0.776208080666,
    -0.292452253971, 0.323541672121, 0.895745750694, 0.494376344287, 0.731823917834,
    -0.55347415804, -0.215337321824, 0.764772366869, 1.01911956677, 1.13553371421,
    0.284135344285, 0.0846741069094, 0.471222050574, 0.483397202722, 1.33237262761,
    1.06223433989, 0.64832761743, -0.108015452872, -0.616685959522, 1.19423137173,
    0.872650035317, 1.04695815682, 0.42528295022, -0.253952308597, -0.431012343214,
    -0.923229893213,
};
// pt_layer_convt2d: ConvTranspose2d(2, 4, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), output_padding=(1, 1), groups=2) on x [1, 2, 3, 3] -> [1, 4, 6, 6]
static const double pt_layer_convt2d[144] = {
    0.0238481780766, 0.0353729542617, -0.102588098371, -0.123239499852, -0.20707286839,
    -0.309201032271, 0.516120048032, 0.541281424271, 0.612812482073, 0.655285808235,
    0.634630310075, 0.814208897328, -0.275464608519, -0.348106559353, -0.29850681757,
    -0.383926463135, -0.273080840645, -0.400488114636, 0.57862059137, 0.636907071201,
    0.452363978633, 0.507011426044, 0.2729487121, 0.541514372907, -0.202627964441,
    -0.278754900701, -0.096683655245, -0.151997912078, 0.0304130217023, 0.0192349621885,
    0.197714430373, 0.303039226535, 0.141914475266, 0.24930082212, 0.0749737502592,
    0.0988319102224, 0.21390062765, 0.0370016207846, 0.139291205132, -0.0247013827495,
    0.0776352581822, 0.40482106286, 0.284022483774, 0.494498952743, 0.417202817415,
    0.573425794642, 0.525722593646, -0.147617954373, 0.0372776299811, -0.0390661349065,
    0.0236805361789, 0.010216318287, 0.0386842796349, 0.446856226324, 0.594894169843,
    0.589382725481, 0.615355497665, 0.524253118691, 0.584337232382, 0.174658141635,
    0.0802581740581, 0.189262912347, 0.14277538787, 0.294793936652, 0.217774509464,
    0.253585418598, 0.509560934704, 0.426688776298, 0.398633466955, 0.261509739616,
    0.265558716267, 0.232471630567, 0.158374706427, 0.0391599404095, -0.00451771688143,
    -0.138779226696, -0.126212409016, 0.00449273254764, 0.892774492653, 1.05001808533,
    1.03329285785, 1.16155046752, 1.07454616152, 0.839017631329, -0.190238564291,
    -0.30050150868, -0.187930542951, -0.262396271365, -0.119600724857, 0.00907622480003,
    1.01095096255, 1.03543199379, 0.851114572761, 0.814850681634, 0.6166700977,
    0.670248103666, 0.00550276966232, 0.0266581594961, 0.170447769511, 0.238485191841,
    0.35290974275, 0.336639976395, 0.557798950066, 0.59188969722, 0.413273873003,
    0.411875449483, 0.253400395372, 0.250733864667, 0.256916949101, 0.162250309212,
    0.29514314038, 0.23502562343, 0.323701402849, 0.613830873279, -0.0484303092386,
    0.0339026976337, -0.018377867524, 0.0169239464016, 0.0444402430076, -0.484720774426,
    0.338726509657, 0.366339794684, 0.338184883083, 0.407105894664, 0.322149829742,
    0.607777271891, 0.131521885789, 0.0654396315085, 0.231080968988, 0.124367697466,
    0.329642637746, -0.00541301206555, 0.292791618881, 0.412015389174, 0.254083746615,
    0.375494306654, 0.211265141866, 0.175150734734, 0.275492726427, 0.140601870617,
    0.246478003902, 0.0894102894814, 0.214381950491, 0.259421125702,
};
// pt_layer_convt1d: ConvTranspose1d(3, 2, kernel_size=(2,), stride=(3,)) on x [1, 3, 4] -> [1, 2, 11]
static const double pt_layer_convt1d[22] = {
    -0.244524310626, -0.356165716928, 0.0596007992385, -0.343070808356, -0.303029866217,
    0.0596007992385, -0.387117593015, -0.200813656114, 0.0596007992385, -0.370703138934,
    -0.0633515711386, 0.0287733185989, 0.397625456286, 0.234998072888, 0.192543621367,
    0.545516260008, 0.234998072888, 0.362059934986, 0.65137988381, 0.234998072888,
    0.514379021644, 0.700888182839,
};

/* ------------------------------------------------------------ helpers --- */

/* Fills x with scale * sin(a i + b). */
static void fill_formula(ag_tensor *x, double a, double b, double scale)
{
    ck_assert_ptr_nonnull(x);
    for (int64_t i = 0; i < ag_tensor_numel(x); i++)
        ck_assert_int_eq(ag_tensor_set(x, i, scale * sin(a * (double)i + b)), AG_OK);
}

/* Runs layer m (weights set by formula) on the formula x of xshape (f64)
   and asserts PyTorch's output of yshape. */
static void check_layer(ag_module *m, int xnd, const int64_t *xshape, int ynd,
                        const int64_t *yshape, const double *expect, int64_t n)
{
    ck_assert_msg(m != NULL, "%s", ag_last_error());
    fill_formula(ag_module_get(m, "weight"), 0.91, 0.3, 0.5);
    if (ag_module_get(m, "bias")) fill_formula(ag_module_get(m, "bias"), 0.7, 0.2, 0.3);
    ag_tape *t = ag_tape_new();
    ag_tensor *x = ag_zeros(t, AG_F64, xnd, xshape);
    fill_formula(x, 0.37, 0.1, 1);
    ag_tensor *y = ag_module_forward(m, t, x);
    ck_assert_msg(y != NULL, "%s", ag_tape_errmsg(t));
    tu_assert_shape(y, ynd, yshape);
    for (int64_t i = 0; i < n; i++)
        ck_assert_msg(fabs(ag_tensor_get(y, i) - expect[i]) <= 1e-10 * (1 + fabs(expect[i])),
                      "element %lld: %.15g, PyTorch %.12g", (long long)i, ag_tensor_get(y, i),
                      expect[i]);
    ag_tape_free(t);
    ag_module_free(m);
}

#define N_OF(a) ((int64_t)(sizeof(a) / sizeof((a)[0])))

/* ----------------------------------------------------------- outputs --- */

START_TEST(test_layers_match_pytorch)
{
    ag_rng *r = ag_rng_new(1);
    ag_conv_opts o2 = {.stride = {2, 1}, .padding = {1, 1}};
    check_layer(ag_conv2d_new(2, 3, SHAPE(3, 2), &o2, 1, AG_F64, r), 4, SHAPE(2, 2, 5, 4), 4,
                SHAPE(2, 3, 3, 5), pt_layer_conv2d, N_OF(pt_layer_conv2d));
    ag_conv_opts o1 = {.padding_kind = AG_CONV_PADDING_SAME, .dilation = {2}};
    check_layer(ag_conv1d_new(2, 4, 3, &o1, 0, AG_F64, r), 3, SHAPE(2, 2, 7), 3, SHAPE(2, 4, 7),
                pt_layer_conv1d, N_OF(pt_layer_conv1d));
    ag_conv_opts ot = {.stride = {2, 2}, .padding = {1, 1}, .output_padding = {1, 1}, .groups = 2};
    check_layer(ag_conv_transpose2d_new(2, 4, SHAPE(3, 3), &ot, 1, AG_F64, r), 4,
                SHAPE(1, 2, 3, 3), 4, SHAPE(1, 4, 6, 6), pt_layer_convt2d, N_OF(pt_layer_convt2d));
    ag_conv_opts ot1 = {.stride = {3}};
    check_layer(ag_conv_transpose1d_new(3, 2, 2, &ot1, 1, AG_F64, r), 3, SHAPE(1, 3, 4), 3,
                SHAPE(1, 2, 11), pt_layer_convt1d, N_OF(pt_layer_convt1d));
    ag_rng_free(r);
}
END_TEST

/* The description in a forward error is PyTorch's repr of the module. */
static void check_description(ag_module *m, int xnd, const int64_t *xshape, const char *repr)
{
    ck_assert_msg(m != NULL, "%s", ag_last_error());
    ag_tape *t = ag_tape_new();
    ag_tensor *x = ag_zeros(t, AG_F64, xnd, xshape);
    ck_assert_ptr_null(ag_module_forward(m, t, x));
    const char *msg = ag_tape_errmsg(t);
    ck_assert_msg(!strncmp(msg, repr, strlen(repr)) && msg[strlen(repr)] == ':',
                  "message '%s' does not start with '%s:'", msg, repr);
    ck_assert(strstr(msg, "x has 5 channels, expected") != NULL);
    ag_tape_free(t);
    ag_module_free(m);
}

START_TEST(test_descriptions_are_pytorchs)
{
    ag_rng *r = ag_rng_new(1);
    check_description(ag_conv2d_new(2, 3, SHAPE(3, 2), &(ag_conv_opts){.stride = {2, 1},
                      .padding = {1, 1}}, 1, AG_F64, r), 4, SHAPE(1, 5, 6, 6),
                      "Conv2d(2, 3, kernel_size=(3, 2), stride=(2, 1), padding=(1, 1))");
    check_description(ag_conv1d_new(2, 4, 3, &(ag_conv_opts){.padding_kind = AG_CONV_PADDING_SAME,
                      .dilation = {2}}, 0, AG_F64, r), 3, SHAPE(1, 5, 6),
                      "Conv1d(2, 4, kernel_size=(3,), stride=(1,), padding=same, dilation=(2,), "
                      "bias=False)");
    check_description(ag_conv_transpose2d_new(2, 4, SHAPE(3, 3), &(ag_conv_opts){.stride = {2, 2},
                      .padding = {1, 1}, .output_padding = {1, 1}, .groups = 2}, 1, AG_F64, r),
                      4, SHAPE(1, 5, 3, 3), "ConvTranspose2d(2, 4, kernel_size=(3, 3), "
                      "stride=(2, 2), padding=(1, 1), output_padding=(1, 1), groups=2)");
    check_description(ag_conv_transpose1d_new(3, 2, 2, &(ag_conv_opts){.stride = {3}}, 1,
                      AG_F64, r), 3, SHAPE(1, 5, 4),
                      "ConvTranspose1d(3, 2, kernel_size=(2,), stride=(3,))");
    check_description(ag_conv2d_new(2, 2, SHAPE(1, 1), NULL, 1, AG_F64, r), 4, SHAPE(1, 5, 2, 2),
                      "Conv2d(2, 2, kernel_size=(1, 1), stride=(1, 1))");
    ag_rng_free(r);
}
END_TEST

/* ------------------------------------------------------ init, names --- */

/* Asserts m's weight and bias are the kaiming_uniform(a = sqrt 5) and
   U(+-1/sqrt(fan_in)) draws from seed, weight first, within the bound. */
static void check_init(ag_module *m, uint64_t seed, int64_t fan_in)
{
    ck_assert_msg(m != NULL, "%s", ag_last_error());
    ag_tensor *w = ag_module_get(m, "weight"), *b = ag_module_get(m, "bias");
    ag_tensor *w2 = ag_zeros(NULL, AG_F32, ag_tensor_ndim(w), ag_tensor_shape(w));
    ag_tensor *b2 = ag_zeros(NULL, AG_F32, 1, ag_tensor_shape(b));
    ag_rng *r = ag_rng_new(seed);
    ck_assert_int_eq(ag_init_kaiming_uniform(w2, sqrt(5.0), AG_FAN_IN, AG_NL_LEAKY_RELU, r), AG_OK);
    ck_assert_int_eq(ag_init_uniform_fan_in(b2, fan_in, r), AG_OK);
    ck_assert(tu_same_bits(w, w2) && tu_same_bits(b, b2));
    const double bound = 1 / sqrt((double)fan_in);
    double wmax = 0;
    for (int64_t i = 0; i < ag_tensor_numel(w); i++) wmax = fmax(wmax, fabs(ag_tensor_get(w, i)));
    ck_assert(wmax <= bound && wmax > 0.5 * bound);
    for (int64_t i = 0; i < ag_tensor_numel(b); i++) ck_assert(fabs(ag_tensor_get(b, i)) <= bound);
    ag_rng_free(r);
    ag_tensor_free(w2);
    ag_tensor_free(b2);
    ag_module_free(m);
}

START_TEST(test_default_init_is_pytorchs)
{
    ag_rng *r = ag_rng_new(42);
    check_init(ag_conv2d_new(3, 8, SHAPE(3, 3), NULL, 1, AG_F32, r), 42, 27);
    ag_rng_free(r);
    r = ag_rng_new(43);        /* transposed: fan_in is out/groups * kernel area, 3 * 4 */
    check_init(ag_conv_transpose2d_new(4, 6, SHAPE(2, 2), &(ag_conv_opts){.groups = 2}, 1,
                                       AG_F32, r), 43, 12);
    ag_rng_free(r);
    r = ag_rng_new(44);
    check_init(ag_conv1d_new(6, 3, 5, &(ag_conv_opts){.groups = 3}, 1, AG_F32, r), 44, 10);
    ag_rng_free(r);
}
END_TEST

START_TEST(test_state_dict_names_and_shapes)
{
    ag_rng *r = ag_rng_new(1);
    ag_module *net = ag_sequential_new(3, (ag_module *[]){
        ag_conv2d_new(1, 4, SHAPE(3, 3), NULL, 1, AG_F32, r), ag_relu_new(),
        ag_conv_transpose2d_new(4, 6, SHAPE(2, 3), &(ag_conv_opts){.groups = 2}, 0, AG_F32, r)});
    ck_assert_msg(net != NULL, "%s", ag_last_error());
    ag_named_tensor list[8];
    ck_assert_int_eq(ag_module_named_tensors(net, list, 8, 1), 3);
    ck_assert_str_eq(list[0].name, "0.weight");
    tu_assert_shape(list[0].tensor, 4, SHAPE(4, 1, 3, 3));
    ck_assert_str_eq(list[1].name, "0.bias");
    tu_assert_shape(list[1].tensor, 1, SHAPE(4));
    ck_assert_str_eq(list[2].name, "2.weight");
    tu_assert_shape(list[2].tensor, 4, SHAPE(4, 3, 2, 3));
    ck_assert(ag_requires_grad(list[0].tensor) && ag_requires_grad(list[2].tensor));
    ag_module_free(net);
    ag_rng_free(r);
}
END_TEST

/* ----------------------------------------------------------- errors --- */

/* Asserts m is NULL and ag_last_error() holds status and both parts. */
#define assert_ctor_fails(m, part1, part2)                                    \
    do {                                                                      \
        ag_module *m_ = (m);                                                  \
        ck_assert_ptr_null(m_);                                               \
        tu_assert_failed(AG_ERR_ARG, AG_ERR_ARG, part1, part2, NULL);          \
    } while (0)

START_TEST(test_constructor_errors)
{
    ag_rng *r = ag_rng_new(1);
    const int64_t *k3 = SHAPE(3, 3);
    assert_ctor_fails(ag_conv2d_new(0, 4, k3, NULL, 1, AG_F32, r), "ag_conv2d_new",
                      "in_channels 0 and out_channels 4 must be >= 1");
    assert_ctor_fails(ag_conv2d_new(3, 4, SHAPE(3, 0), NULL, 1, AG_F32, r), "ag_conv2d_new",
                      "kernel_size 0 must be >= 1");
    assert_ctor_fails(ag_conv2d_new(3, 4, NULL, NULL, 1, AG_F32, r), "ag_conv2d_new",
                      "kernel_size is NULL");
    assert_ctor_fails(ag_conv2d_new(3, 4, k3, &(ag_conv_opts){.groups = 2}, 1, AG_F32, r),
                      "ag_conv2d_new", "groups 2 must divide in_channels 3 and out_channels 4");
    assert_ctor_fails(ag_conv2d_new(3, 4, k3, &(ag_conv_opts){.stride = {-1, 1}}, 1, AG_F32, r),
                      "ag_conv2d_new", "must be >= 0");
    assert_ctor_fails(ag_conv2d_new(3, 4, k3, &(ag_conv_opts){.stride = {2, 2},
                      .padding_kind = AG_CONV_PADDING_SAME}, 1, AG_F32, r), "ag_conv2d_new",
                      "\"same\" is not supported for strided");
    assert_ctor_fails(ag_conv2d_new(3, 4, k3, &(ag_conv_opts){.padding = {1, 1},
                      .padding_kind = AG_CONV_PADDING_VALID}, 1, AG_F32, r), "ag_conv2d_new",
                      "padding \"valid\"");
    assert_ctor_fails(ag_conv2d_new(3, 4, k3, &(ag_conv_opts){.output_padding = {1, 0}}, 1,
                      AG_F32, r), "ag_conv2d_new", "transposed convolutions only");
    assert_ctor_fails(ag_conv2d_new(3, 4, k3, &(ag_conv_opts){.padding_kind =
                      (ag_conv_padding)9}, 1, AG_F32, r), "ag_conv2d_new", "unknown padding_kind 9");
    assert_ctor_fails(ag_conv_transpose2d_new(3, 4, k3, &(ag_conv_opts){.stride = {2, 2},
                      .output_padding = {2, 0}}, 1, AG_F32, r), "ag_conv_transpose2d_new",
                      "output padding must be smaller than either stride or dilation");
    assert_ctor_fails(ag_conv_transpose2d_new(3, 4, k3, &(ag_conv_opts){.padding_kind =
                      AG_CONV_PADDING_SAME}, 1, AG_F32, r), "ag_conv_transpose2d_new",
                      "padding \"same\"");
    assert_ctor_fails(ag_conv1d_new(3, 4, 3, &(ag_conv_opts){.padding = {1, 1}}, 1, AG_F32, r),
                      "ag_conv1d_new", "entry [1] must be 0");
    ag_module *unset = ag_conv1d_new(3, 4, 3, NULL, 1, AG_F32, NULL);  /* zeros, to be loaded */
    ck_assert_ptr_nonnull(unset);
    for (int64_t i = 0; i < 36; i++) ck_assert(ag_tensor_get(ag_module_get(unset, "weight"), i) == 0);
    for (int64_t i = 0; i < 4; i++) ck_assert(ag_tensor_get(ag_module_get(unset, "bias"), i) == 0);
    ag_module_free(unset);
    ck_assert_ptr_null(ag_conv_transpose1d_new(3, 4, 3, NULL, 1, (ag_dtype)5, r));
    tu_assert_failed(AG_ERR_DTYPE, AG_ERR_DTYPE, "ag_conv_transpose1d_new", "unknown dtype 5",
                     NULL);
    ag_rng_free(r);
}
END_TEST

START_TEST(test_forward_errors_name_the_layer)
{
    ag_rng *r = ag_rng_new(1);
    ag_module *m = ag_conv2d_new(1, 16, SHAPE(3, 3), &(ag_conv_opts){.padding = {1, 1}}, 1,
                                 AG_F32, r);
    const char *desc = "Conv2d(1, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))";
    ag_tape *t = ag_tape_new();
    ag_tensor *x = ag_zeros(t, AG_F32, 4, SHAPE(64, 3, 28, 28));
    tu_assert_error(t, ag_module_forward(m, t, x), AG_ERR_SHAPE, desc,
                    "x has 3 channels, expected 1 (x is [64,3,28,28])");
    ag_tape_reset(t);
    x = ag_zeros(t, AG_F64, 4, SHAPE(2, 1, 5, 5));
    tu_assert_error(t, ag_module_forward(m, t, x), AG_ERR_DTYPE, desc, "x is f64");
    ag_tape_reset(t);
    x = ag_zeros(t, AG_F32, 5, SHAPE(1, 2, 1, 5, 5));
    tu_assert_error(t, ag_module_forward(m, t, x), AG_ERR_SHAPE, desc,
                    "expected 3D (unbatched) or 4D (batched)");
    ag_tape_reset(t);
    x = ag_zeros(t, AG_F32, 2, SHAPE(5, 5));
    tu_assert_error(t, ag_module_forward(m, t, x), AG_ERR_SHAPE, desc, "at least 3 dimensions");
    ag_tape_reset(t);
    tu_assert_error(t, ag_module_forward(m, t, NULL), AG_ERR_ARG, desc, "x is NULL");
    ag_tape_reset(t);
    x = ag_zeros(t, AG_F32, 3, SHAPE(1, 28, 28));               /* unbatched is fine */
    ag_tensor *y = ag_module_forward(m, t, x);
    tu_assert_shape(y, 3, SHAPE(16, 28, 28));
    ag_tape_free(t);
    ag_module_free(m);
    ag_rng_free(r);
}
END_TEST

/* Gradients reach x and the layer's own tensors (f64). */
static ag_tensor *layer_apply(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    return ag_module_forward(ctx, t, in[0]);
}

START_TEST(test_gradcheck_through_a_layer)
{
    ag_rng *r = ag_rng_new(3);
    ag_module *m = ag_conv2d_new(2, 3, SHAPE(2, 2), &(ag_conv_opts){.stride = {1, 2},
                                 .padding = {1, 0}}, 1, AG_F64, r);
    ck_assert_ptr_nonnull(m);
    ag_tensor *x = tu_random(4, SHAPE(1, 2, 4, 5), -1, 1, 9);
    tu_assert_gradchecks(layer_apply, m, 1, &x);
    ag_tensor_free(x);
    ag_module_free(m);
    ag_rng_free(r);
}
END_TEST

/* -------------------------------------------------- into PyTorch --- */

#define PYTHON "/usr/bin/python3"
#define CHECKER "tests/conv_torch_check.py"

/* Runs argv and returns its exit status (-1 if it could not run);
   quiet sends its output to /dev/null. */
static int run_quiet(const char *const *argv, int quiet)
{
    pid_t pid;
    int st, r;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (quiet) {
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    }
    r = posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (r != 0 || waitpid(pid, &st, 0) < 0) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The model of conv_torch_check.py, from seed. */
static ag_module *torch_twin_model(ag_rng *r)
{
    ag_module *m = ag_sequential_new(5, (ag_module *[]){
        ag_conv2d_new(1, 4, SHAPE(3, 3), &(ag_conv_opts){.padding = {1, 1}}, 1, AG_F32, r),
        ag_relu_new(),
        ag_conv2d_new(4, 6, SHAPE(3, 2), &(ag_conv_opts){.stride = {2, 2}, .padding = {1, 0},
                      .dilation = {1, 2}, .groups = 2}, 1, AG_F32, r),
        ag_tanh_new(),
        ag_conv_transpose2d_new(6, 2, SHAPE(3, 3), &(ag_conv_opts){.stride = {2, 2},
                                .padding = {1, 1}, .output_padding = {1, 1}, .groups = 2},
                                1, AG_F32, r)});
    ck_assert_msg(m != NULL, "%s", ag_last_error());
    return m;
}

START_TEST(test_saved_model_loads_into_pytorch)
{
    if (access(PYTHON, X_OK) != 0 ||
        run_quiet((const char *const[]){PYTHON, "-c", "import torch, numpy", NULL}, 1) != 0) {
        printf("conv_layers: the PyTorch cross-check is SKIPPED: %s cannot import torch and "
               "numpy (apt-get install python3-torch)\n", PYTHON);
        return;
    }
    ck_assert_msg(access(CHECKER, R_OK) == 0, "%s not found: run the tests from the repository "
                  "root", CHECKER);
    tu_dir d;
    tu_dir_make(&d);
    ag_rng *r = ag_rng_new(5);
    ag_module *m = torch_twin_model(r);
    ag_tape *t = ag_tape_new();
    ag_tensor *x = ag_rand_normal(NULL, r, AG_F32, 4, SHAPE(2, 1, 9, 8), 0, 1);
    ag_tensor *y = ag_module_forward(m, t, x);
    ck_assert_msg(y != NULL, "%s", ag_tape_errmsg(t));
    tu_assert_shape(y, 4, SHAPE(2, 2, 10, 6));
    const char *model = tu_path(&d, "model.safetensors"), *io = tu_path(&d, "io.safetensors");
    ck_assert_msg(ag_module_save(m, model) == AG_OK, "%s", ag_last_error());
    ag_named_tensor xy[2] = {{"x", x, 0}, {"y", y, 0}};
    ck_assert_msg(ag_safetensors_save(io, 2, xy, 0, NULL) == AG_OK, "%s", ag_last_error());
    ck_assert_int_eq(run_quiet((const char *const[]){PYTHON, CHECKER, model, io, NULL}, 0), 0);
    /* the check can fail: one output element moved by 1e-3 */
    ck_assert_int_eq(ag_tensor_set(y, 7, ag_tensor_get(y, 7) + 1e-3), AG_OK);
    ck_assert_msg(ag_safetensors_save(io, 2, xy, 0, NULL) == AG_OK, "%s", ag_last_error());
    ck_assert_int_eq(run_quiet((const char *const[]){PYTHON, CHECKER, model, io, NULL}, 1), 1);
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_module_free(m);
    ag_rng_free(r);
    tu_dir_remove(&d);
}
END_TEST

Suite *suite_conv_layers(void)
{
    Suite *s = suite_create("conv_layers");
    TU_ADD(s, test_layers_match_pytorch);
    TU_ADD(s, test_descriptions_are_pytorchs);
    TU_ADD(s, test_default_init_is_pytorchs);
    TU_ADD(s, test_state_dict_names_and_shapes);
    TU_ADD(s, test_constructor_errors);
    TU_ADD(s, test_forward_errors_name_the_layer);
    TU_ADD(s, test_gradcheck_through_a_layer);
    TCase *tc = tcase_create("test_saved_model_loads_into_pytorch");
    tcase_add_test(tc, test_saved_model_loads_into_pytorch);
    tcase_set_timeout(tc, 180);         /* two Python runs, each importing torch */
    suite_add_tcase(s, tc);
    return s;
}
